#!/bin/bash
# Packs a CUDA build of Spare for a GPU machine that has CUDA's driver but
# neither MPI nor HDF5: the programs, every shared library they and Open MPI's
# plugins load (less the C and C++ runtimes every Linux has, and the CUDA
# driver), and Debian's Open MPI in its own layout under usr/, so OPAL_PREFIX
# relocates it. tests/gpu/device_checks.sh runs the GPU checks from it.
#   tests/gpu/device_bundle.sh BUILD_DIR BUNDLE_DIR
set -euo pipefail
build=${1:?usage: device_bundle.sh BUILD_DIR BUNDLE_DIR}
bundle=${2:?usage: device_bundle.sh BUILD_DIR BUNDLE_DIR}
multiarch=$(gcc -print-multiarch)

rm -rf "$bundle"
mkdir -p "$bundle/bin" "$bundle/lib"
for program in spare spare-worker spare_gpu_tests spare-bench-gpu spare-bench-roofline; do
  cp "$build/bin/$program" "$bundle/bin/"
done

# Open MPI and PMIx, each file at its own path under the bundle.
ompi_paths=(/usr/bin/orterun /usr/bin/orted "/usr/lib/$multiarch/openmpi/lib/openmpi3"
            /usr/share/openmpi /etc/openmpi "/usr/lib/$multiarch/pmix2")
for path in "${ompi_paths[@]}"; do
  mkdir -p "$bundle$(dirname "$path")"
  cp -a "$path" "$bundle$path"
done
ln -s orterun "$bundle/usr/bin/mpirun"

# The libraries' closure. Plugins whose libraries are missing would only fail
# to open, but carrying them keeps Open MPI's choice the same as here.
is_everywhere() {
  case "$1" in
    linux-vdso* | libc.so* | libm.so* | libdl.so* | librt.so* | libpthread.so* | ld-linux*) return 0 ;;
    libstdc++.so* | libgcc_s.so* | libcuda.so*) return 0 ;;
  esac
  return 1
}
mapfile -t elves < <(find "$bundle/bin" "$bundle/usr" -type f -exec sh -c \
  'head -c4 "$1" | grep -q ELF && echo "$1"' _ {} \;)
for elf in "${elves[@]}"; do
  ldd "$elf" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}'
done | sort -u | while read -r name path; do
  is_everywhere "$name" || cp -L "$path" "$bundle/lib/$name"
done
du -sh "$bundle"
