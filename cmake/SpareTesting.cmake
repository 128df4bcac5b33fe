# One helper per kind of test, so every test gets its labels and MPI tests
# run through the mpiexec CMake found (MPIEXEC_*), never a hard-coded one.
include(GoogleTest)

# Open MPI refuses to run as root unless told; CI runs as root.
set(SPARE_TEST_ENVIRONMENT OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    OMPI_MCA_rmaps_base_oversubscribe=1)

# spare_add_unit_test(NAME SOURCES...): a GoogleTest binary; each test case
# becomes its own CTest entry, labelled `unit`.
function(spare_add_unit_test name)
  add_executable(${name} ${ARGN})
  target_link_libraries(${name} PRIVATE spare_launcher spare::framework spare::kernels
                        GTest::gtest_main spare::warnings)
  gtest_discover_tests(${name} TEST_PREFIX "unit." PROPERTIES LABELS unit
                       ENVIRONMENT "${SPARE_TEST_ENVIRONMENT}" DISCOVERY_TIMEOUT 30)
endfunction()

# spare_add_mpi_test(NAME SOURCES... RANKS n...): a GoogleTest binary run
# under mpiexec once per rank count, labelled `mpi`.
function(spare_add_mpi_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;RANKS" ${ARGN})
  add_executable(${name} ${ARG_SOURCES} ${PROJECT_SOURCE_DIR}/tests/mpi/mpi_gtest_main.cpp)
  target_link_libraries(${name} PRIVATE spare::framework spare::kernels GTest::gtest
                        spare::warnings)
  foreach(ranks IN LISTS ARG_RANKS)
    add_test(NAME mpi.${name}.np${ranks}
             COMMAND ${MPIEXEC_EXECUTABLE} ${MPIEXEC_NUMPROC_FLAG} ${ranks} --oversubscribe
                     ${MPIEXEC_PREFLAGS} $<TARGET_FILE:${name}> ${MPIEXEC_POSTFLAGS})
    set_tests_properties(mpi.${name}.np${ranks} PROPERTIES LABELS mpi PROCESSORS ${ranks}
                         ENVIRONMENT "${SPARE_TEST_ENVIRONMENT}" TIMEOUT 120)
  endforeach()
endfunction()
