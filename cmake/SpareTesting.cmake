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

# End-to-end tests are Python (unittest) driving the real `spare`, reading
# results with h5py. Debian's python3 has python3-h5py; a missing module is a
# configuration error, never a silently skipped test.
set(SPARE_TEST_PYTHON /usr/bin/python3 CACHE FILEPATH "Python with h5py and numpy for the tests")
execute_process(COMMAND ${SPARE_TEST_PYTHON} -c "import h5py, numpy"
                RESULT_VARIABLE _spare_python_ok OUTPUT_QUIET ERROR_QUIET)
if(NOT _spare_python_ok EQUAL 0)
  message(FATAL_ERROR "The tests need ${SPARE_TEST_PYTHON} with h5py and numpy "
                      "(apt-get install python3-h5py python3-numpy), or -DSPARE_BUILD_TESTS=OFF")
endif()

# spare_add_python_tests(FILE LABELS label... [PREFIX p] [SKIP_RETURN_CODE n] [RUN_SERIAL]):
# one CTest entry per test method, named p.module.Class.test (p: e2e), found
# in the file the way gtest_discover_tests finds test cases. A test that exits
# with n is reported as skipped (say, no root for network namespaces).
# RUN_SERIAL: alone on the machine (timing-sensitive: heartbeats on 2 cores).
function(spare_add_python_tests file)
  cmake_parse_arguments(ARG "RUN_SERIAL" "PREFIX;SKIP_RETURN_CODE" "LABELS" ${ARGN})
  if(NOT ARG_PREFIX)
    set(ARG_PREFIX e2e)
  endif()
  set(path ${CMAKE_CURRENT_SOURCE_DIR}/${file})
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${path})
  file(STRINGS ${path} lines REGEX "^(class [A-Za-z_]+|    def test_[a-z0-9_]+)")
  get_filename_component(module ${file} NAME_WE)
  foreach(line IN LISTS lines)
    if(line MATCHES "^class ([A-Za-z_]+)")
      set(class ${CMAKE_MATCH_1})
    elseif(line MATCHES "def (test_[a-z0-9_]+)")
      set(name ${ARG_PREFIX}.${module}.${class}.${CMAKE_MATCH_1})
      add_test(NAME ${name}
               COMMAND ${SPARE_TEST_PYTHON} -m unittest ${module}.${class}.${CMAKE_MATCH_1}
               WORKING_DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR})
      set_tests_properties(${name} PROPERTIES LABELS "${ARG_LABELS}" TIMEOUT 600
        ENVIRONMENT "SPARE_BIN=$<TARGET_FILE:spare>;SPARE_SOURCE_DIR=${PROJECT_SOURCE_DIR};SPARE_BUILD_DIR=${PROJECT_BINARY_DIR};PYTHONDONTWRITEBYTECODE=1")
      if(ARG_SKIP_RETURN_CODE)
        set_tests_properties(${name} PROPERTIES SKIP_RETURN_CODE ${ARG_SKIP_RETURN_CODE})
      endif()
      if(ARG_RUN_SERIAL)
        set_tests_properties(${name} PROPERTIES RUN_SERIAL TRUE)
      endif()
    endif()
  endforeach()
endfunction()
