# find_package(Spare) for projects outside this tree: a worker program with
# kernels of its own links spare::framework (and spare::kernels for the
# built-in ones). See examples/custom-kernel.
include(CMakePackageConfigHelpers)
install(EXPORT SpareTargets NAMESPACE spare:: DESTINATION lib/cmake/Spare)
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/SpareConfig.cmake.in
                              ${PROJECT_BINARY_DIR}/SpareConfig.cmake
                              INSTALL_DESTINATION lib/cmake/Spare)
write_basic_package_version_file(${PROJECT_BINARY_DIR}/SpareConfigVersion.cmake
                                 COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/SpareConfig.cmake ${PROJECT_BINARY_DIR}/SpareConfigVersion.cmake
        DESTINATION lib/cmake/Spare)
