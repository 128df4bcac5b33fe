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

# The pool's load benchmarks (`spare bench pool`, the HTTPS and manifest
# benchmarks) are Asio coroutines and TLS in a few large files, among the
# slowest of the build to compile: a build that never runs them (the
# sanitizer build in CI) leaves them out.
option(SPARE_BUILD_LOAD_BENCHMARKS "Build spare bench pool and the HTTPS and manifest benchmarks"
       ON)

set(SPARE_SANITIZE "" CACHE STRING "Sanitizers to build with, e.g. address,undefined")

# Fuzzing (tests/fuzz, run by tests/fuzz/run.sh): libFuzzer targets, built with
# clang; the libraries they link get coverage instrumentation and, unless
# SPARE_SANITIZE says otherwise, AddressSanitizer and UBSan.
option(SPARE_FUZZ "Build the libFuzzer targets in tests/fuzz (clang only, without CUDA)" OFF)
if(SPARE_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "SPARE_FUZZ needs clang's libFuzzer: configure with CC=clang CXX=clang++")
  endif()
  if(SPARE_WITH_CUDA)
    message(FATAL_ERROR "SPARE_FUZZ builds without CUDA: add -DSPARE_WITH_CUDA=OFF")
  endif()
  if(NOT SPARE_SANITIZE)
    set(SPARE_SANITIZE address,undefined)
  endif()
endif()
