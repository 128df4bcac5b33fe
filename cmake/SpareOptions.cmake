# User-facing build options; defaults follow what the machine has.
include(CheckLanguage)
check_language(CUDA)
if(CMAKE_CUDA_COMPILER)
  set(_spare_cuda_default ON)
else()
  set(_spare_cuda_default OFF)
endif()
option(SPARE_WITH_CUDA "Build the CUDA kernels (default: on when nvcc is found)" ${_spare_cuda_default})

find_package(GTest QUIET)
if(GTest_FOUND)
  set(_spare_tests_default ON)
else()
  set(_spare_tests_default OFF)
endif()
option(SPARE_BUILD_TESTS "Build the tests and benchmarks (default: on when GoogleTest is found)"
       ${_spare_tests_default})

set(SPARE_SANITIZE "" CACHE STRING "Sanitizers to build with, e.g. address,undefined")
