#!/usr/bin/env bash
# Sets Spare up on Debian 12: installs the Debian packages it builds on (if
# any are missing), then configures and builds it in build/. Safe to re-run.
# Extra CMake arguments can be passed in SPARE_CMAKE_ARGS.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake pkg-config             # toolchain
  openmpi-bin libopenmpi-dev                   # the distributed engine
  libhdf5-openmpi-dev hdf5-tools               # checkpoints and results; h5dump
  libboost-program-options-dev                 # job files and the command line
  libboost-dev                                 # Asio + Beast: the pool's HTTPS server
  nlohmann-json3-dev libfmt-dev                # manifests, events; formatting
  libeigen3-dev librandom123-dev               # CPU array expressions; Philox
  libxxhash-dev libhwloc-dev                   # shard digests; core counting
  libsqlite3-dev libssl-dev libcpp-httplib-dev # the pool: coordinator state, TLS, HTTPS
  libgtest-dev python3 python3-h5py python3-numpy python3-xxhash  # tests
  python3-cryptography                         # a second writer of the ledger's format (tests)
  iproute2                                     # the laptop cluster's namespaces (tests)
  slurm-wlm                                    # the Slurm backend's sbatch/squeue; its tests' slurmctld, slurmd
  chromium chromium-driver python3-selenium    # the dashboard's browser test
  prometheus                                   # a real scraper of /metrics (tests; promtool)
  etcd-server etcd-client                      # a pool of replicas' records; its tests' etcd clusters
  gdb                                          # a cluster test that times out shows the agents' threads
)

missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$package")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

# shellcheck disable=SC2086
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release ${SPARE_CMAKE_ARGS:-} >/dev/null
cmake --build build -j"$(nproc)"
echo "setup: built build/bin/spare"
