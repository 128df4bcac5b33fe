# Flags as INTERFACE targets: a target opts in by linking them.

# Warnings for all of Spare's own code. Designated initializers leave the
# other members at their defaults on purpose, which GCC 12 warns about.
add_library(spare_warnings INTERFACE)
add_library(spare::warnings ALIAS spare_warnings)
set_target_properties(spare_warnings PROPERTIES EXPORT_NAME warnings)
target_compile_options(spare_warnings INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion
                                -Wno-missing-field-initializers>
  $<$<COMPILE_LANGUAGE:CUDA>:-Xcompiler=-Wall,-Wextra>)

# Deterministic arithmetic: no contraction of a*b+c into an FMA, so every
# build and every backend rounds the same way (DESIGN.md, Determinism); in
# CUDA sources for the device code (--fmad) and the host code alike. nvcc
# keeps division and square root correctly rounded unless told otherwise.
add_library(spare_deterministic_fp INTERFACE)
add_library(spare::deterministic_fp ALIAS spare_deterministic_fp)
set_target_properties(spare_deterministic_fp PROPERTIES EXPORT_NAME deterministic_fp)
install(TARGETS spare_warnings spare_deterministic_fp EXPORT SpareTargets)
target_compile_options(spare_deterministic_fp INTERFACE
  $<$<COMPILE_LANGUAGE:CXX>:-ffp-contract=off -fno-fast-math>
  $<$<COMPILE_LANGUAGE:CUDA>:--fmad=false -Xcompiler=-ffp-contract=off>)

# Sanitizers apply to the whole build: an instrumented library linked into an
# uninstrumented program hides nothing but breaks the runtime's assumptions.
# nvcc does not take them: CUDA sources are left uninstrumented.
# With SPARE_FUZZ the code also gets libFuzzer's coverage instrumentation
# (fuzzer-no-link); only the fuzz targets link libFuzzer itself (tests/fuzz).
if(SPARE_SANITIZE)
  set(_spare_compiled_sanitizers ${SPARE_SANITIZE})
  if(SPARE_FUZZ)
    set(_spare_compiled_sanitizers fuzzer-no-link,${SPARE_SANITIZE})
  endif()
  add_compile_options(
    "$<$<COMPILE_LANGUAGE:C,CXX>:-fsanitize=${_spare_compiled_sanitizers};-fno-omit-frame-pointer;-fno-sanitize-recover=all>")
  add_link_options(-fsanitize=${SPARE_SANITIZE})
endif()

# spare_lighter_ubsan(): for the directory it is called in (and below), leaves
# out UBSan's null and alignment checks under GCC. Those two made GCC's -O1
# build of the pool's JSON- and fmt-heavy files 2.5 to 4 times slower (the
# state machine: 73 s against 19 s; the whole sanitizer build was most of
# CI's time); AddressSanitizer still reports a null dereference there, and the
# framework and kernels, where buffers are reinterpreted, keep every check.
function(spare_lighter_ubsan)
  if(SPARE_SANITIZE MATCHES "undefined" AND CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    add_compile_options("$<$<COMPILE_LANGUAGE:CXX>:-fno-sanitize=null,alignment>")
  endif()
endfunction()

