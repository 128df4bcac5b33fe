#!/usr/bin/env bash
# Fuzzes each parser of untrusted input (tests/fuzz/fuzz_*.cpp) for SECONDS
# (default 60): builds the libFuzzer targets with clang in build-fuzz, runs
# each on a scratch copy of its committed corpus (tests/fuzz/corpus/TARGET;
# the tree is not modified) with its dictionary, and fails if any target
# finds a crash, a leak, a timeout or a sanitizer report, naming the
# reproducer (kept in build-fuzz/findings/TARGET/). Prints, per target, the
# executions run and exec/s.
#
#   tests/fuzz/run.sh              60 s per target, as many at once as cores
#                                  (SPARE_FUZZ_JOBS); CI runs 20 s
#   tests/fuzz/run.sh 600          longer, by hand
#   SPARE_FUZZ_TARGETS="fuzz_names fuzz_manifest" tests/fuzz/run.sh 30
#   SPARE_FUZZ_KEEP_GOING=1 tests/fuzz/run.sh 600   goes on after a finding (-fork=1)
#                                                   to collect every one in the time
#   SPARE_FUZZ_BUILD=0 tests/fuzz/run.sh 600        runs the targets already built
#   build-fuzz/bin/fuzz_names build-fuzz/findings/fuzz_names/crash-...   replays one
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=${1:-60}
if ! [[ $seconds =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: tests/fuzz/run.sh [SECONDS]  (seconds per target, default 60)" >&2
  exit 2
fi
keep_going=${SPARE_FUZZ_KEEP_GOING:-0}
read -r -a targets <<<"${SPARE_FUZZ_TARGETS:-fuzz_job_file fuzz_manifest fuzz_daemon_command fuzz_names fuzz_pool_messages fuzz_ledger}"

# Debian 12's clang 16: clang 14 (Debian's default) cannot compile Spare's
# C++20 (it cannot capture structured bindings in lambdas).
install_clang() {
  local packages=(clang-16 libclang-rt-16-dev llvm-16) missing=() package sudo=""
  for package in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" ||
      missing+=("$package")
  done
  ((${#missing[@]})) || return 0
  echo "fuzz: installing ${missing[*]}"
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
}

# -O1 with line tables: libFuzzer's usual trade between speed and compile time.
build_targets() {
  CC=clang-16 CXX=clang++-16 cmake -S . -B build-fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
    -DSPARE_FUZZ=ON -DSPARE_WITH_CUDA=OFF -DSPARE_BUILD_TESTS=OFF >/dev/null
  cmake --build build-fuzz -j"$(nproc)" --target "${targets[@]}"
}

if [ "${SPARE_FUZZ_BUILD:-1}" != 0 ]; then
  install_clang
  build_targets
fi

root=$PWD
scratch=$(mktemp -d "${TMPDIR:-/tmp}/spare-fuzz.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
# Parsers refuse most inputs by throwing, and ASan's fake stacks (for
# stack-use-after-return) make each throw cost ~8 ms: without them a target
# that throws on every input runs 10x as many inputs. Everything else is checked.
export ASAN_OPTIONS=detect_leaks=1:symbolize=1:detect_stack_use_after_return=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:symbolize=1
export ASAN_SYMBOLIZER_PATH=/usr/bin/llvm-symbolizer-16

# One target: its report (and FAILED when it found something) in $scratch/TARGET/.
fuzz_one() {
  local target=$1 work=$scratch/$1 findings=$root/build-fuzz/findings/$1
  local log status=0 started elapsed runs inputs reproducer
  mkdir -p "$work/corpus" "$findings"
  cp -R "tests/fuzz/corpus/$target/." "$work/corpus/"
  local options=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
                 -artifact_prefix="$findings/")
  [ -f "tests/fuzz/$target.dict" ] && options+=(-dict="$root/tests/fuzz/$target.dict")
  ((keep_going)) && options+=(-fork=1 -ignore_crashes=1 -ignore_timeouts=1 -ignore_ooms=1)
  log=$work/log
  touch "$work/started"
  started=$(date +%s)
  # From the scratch directory: a parser that resolves relative paths sees
  # nothing of the tree.
  (cd "$work" && "$root/build-fuzz/bin/$target" "${options[@]}" corpus) >"$log" 2>&1 || status=$?
  elapsed=$(($(date +%s) - started))
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  # -fork=1 prints no final stats: its last status line has the count.
  [ -n "$runs" ] || runs=$(sed -n 's/^#\([0-9]*\):.* exec\/s: .*/\1/p' "$log" | tail -1)
  runs=${runs:-0}
  inputs=$(find "$work/corpus" -type f | wc -l)
  {
    echo "fuzz: $target: $runs executions in $elapsed s, $((runs / (elapsed > 0 ? elapsed : 1))) exec/s," \
      "corpus $(find "tests/fuzz/corpus/$target" -type f | wc -l) -> $inputs inputs"
    local reproducers
    mapfile -t reproducers < <(find "$findings" -type f -newer "$work/started" | sort)
    # A report that did not stop the run (a recoverable sanitizer) fails it too.
    if ((status != 0 || ${#reproducers[@]})) ||
      grep -qE "^(==[0-9]+==ERROR|SUMMARY: |INVARIANT VIOLATED)|runtime error:" "$log"; then
      touch "$work/FAILED"
      echo "fuzz: $target FOUND A PROBLEM (exit status $status); the end of its log:"
      grep -vE "^#[0-9]+|Uses: [0-9]+$|NEW_FUNC" "$log" | tail -60
      for reproducer in "${reproducers[@]:0:5}"; do
        echo "fuzz: reproducer: $reproducer"
        echo "fuzz: replay: build-fuzz/bin/$target $reproducer"
      done
      ((${#reproducers[@]} <= 5)) ||
        echo "fuzz: and $((${#reproducers[@]} - 5)) more reproducers in $findings"
      ((${#reproducers[@]})) || echo "fuzz: no reproducer written (see the log above)"
    fi
  } >"$work/report"
}

# Each target is one process on one core: as many at once as there are cores
# (SPARE_FUZZ_JOBS), reports printed in the targets' order.
jobs_at_once=${SPARE_FUZZ_JOBS:-$(nproc)}
running=0
for target in "${targets[@]}"; do
  if ((running >= jobs_at_once)); then
    wait -n || true
    running=$((running - 1))
  fi
  fuzz_one "$target" &
  running=$((running + 1))
done
wait || true

failed=()
for target in "${targets[@]}"; do
  if [ -f "$scratch/$target/report" ]; then
    cat "$scratch/$target/report"
  else
    echo "fuzz: $target: the script failed before its report (see above)"
    touch "$scratch/$target/FAILED"
  fi
  [ -e "$scratch/$target/FAILED" ] && failed+=("$target")
done

if ((${#failed[@]})); then
  echo "fuzz: FAILED: ${failed[*]}"
  exit 1
fi
echo "fuzz: every target ran ${seconds} s without a finding"
