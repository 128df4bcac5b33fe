#!/bin/bash
# The GPU checks, run from a bundle made by tests/gpu/device_bundle.sh on a
# machine with a GPU, CUDA's driver and a python3 with h5py, but no MPI or
# HDF5 of its own (PYTHON: the python3 with h5py). Each step's output goes
# to LOG_DIR/NAME.log.
#   tests/gpu/device_checks.sh BUNDLE_DIR LOG_DIR
set -uo pipefail
bundle=$(cd "${1:?usage: device_checks.sh BUNDLE_DIR LOG_DIR}" && pwd)
logs=${2:?usage: device_checks.sh BUNDLE_DIR LOG_DIR}
here=$(cd "$(dirname "$0")" && pwd)
multiarch=x86_64-linux-gnu
mkdir -p "$logs"

export LD_LIBRARY_PATH="$bundle/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export PATH="$bundle/bin:$bundle/usr/bin:$PATH"
# Debian's Open MPI, relocated: its prefix and the paths not derived from it.
export OPAL_PREFIX="$bundle/usr"
export OPAL_SYSCONFDIR="$bundle/etc/openmpi"
export OPAL_PKGLIBDIR="$bundle/usr/lib/$multiarch/openmpi/lib/openmpi3"
export OPAL_PKGDATADIR="$bundle/usr/share/openmpi"
export PMIX_INSTALL_PREFIX="$bundle/usr/lib/$multiarch/pmix2"
export SPARE_MPIEXEC="$bundle/usr/bin/mpirun"
export SPARE_BIN="$bundle/bin/spare"
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1

failed=()
step() {  # step NAME SECONDS COMMAND...: runs it with a time limit, logs it, notes a failure
  local name=$1 seconds=$2
  shift 2
  # SPARE_GPU_STEPS="NAME ...": only those steps (a short lease's second try).
  [[ -z "${SPARE_GPU_STEPS:-}" || " $SPARE_GPU_STEPS " == *" $name "* ]] || return 0
  echo "== $name: $*"
  timeout "$seconds" "$@" >"$logs/$name.log" 2>&1
  local status=$?
  tail -n 25 "$logs/$name.log"
  echo "== $name: exit $status"
  [ "$status" -eq 0 ] || failed+=("$name($status)")
}

step gpu 20 nvidia-smi
step version 20 spare --version
step kernels 90 spare-bench-gpu
step gtest 60 spare_gpu_tests
step runs 180 "${PYTHON:-python3}" "$here/test_gpu_runs.py" -v
for kernel in heat2d nbody cg montecarlo; do
  step "bench-$kernel" 75 spare bench "$kernel" --device cuda --repeat 3
done
step bench-nbody-fast 75 spare bench nbody --device cuda --repeat 3 --set nbody.precision=fast
# Where nbody's time goes, for the next lever: Nsight Compute on its pulls
# (exact, then fast), where the machine has it.
if command -v ncu >/dev/null; then
  step profile-nbody 150 ncu --kernel-name regex:accelerations --launch-skip 1 --launch-count 8 \
    --section SpeedOfLight --section WarpStateStats --section InstructionStats \
    --section Occupancy spare-bench-gpu --only nbody
else
  echo "== profile-nbody: skipped, no ncu on this machine"
fi
# The kernels' benchmark as a GPU machine with only CUDA and CMake builds it.
step standalone-build 120 bash -c "cmake -S '$here/../bench/gpu' -B /tmp/spare-bench-gpu \
  -DCMAKE_CUDA_ARCHITECTURES=90 && cmake --build /tmp/spare-bench-gpu -j"

echo "failed: ${failed[*]:-none}"
[ "${#failed[@]}" -eq 0 ]
