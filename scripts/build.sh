#!/usr/bin/env bash
# Configures and builds one flavour of sosproxy.
#   scripts/build.sh            release build in build/
#   scripts/build.sh asan       AddressSanitizer + UndefinedBehaviorSanitizer build in build-asan/
#   scripts/build.sh tsan       ThreadSanitizer build in build-tsan/
#   scripts/build.sh FLAVOUR TARGET...   only those targets (and what they need)
# Each treats warnings as errors (SOS_WERROR): the project's own builds stay warning-free, while
# a plain `cmake -S . -B build` of a user or a distribution only prints them.
# SOS_UNITY=ON builds unity translation units (CMake's UNITY_BUILD, 16 sources in each): the
# same code in well under half the time from scratch, as the test command's fresh builds are;
# slower to rebuild after a change to one file, so it is off by default. Switching it on or off
# rebuilds the directory from scratch.
# SOS_UNIT_TESTS_WHOLE=ON registers each unit test executable as one ctest test (all its tests in
# one process) instead of one ctest test per test (tests/CMakeLists.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
flavour=${1:-release}
shift || true
targets=()
for t in "$@"; do targets+=(--target "$t"); done
jobs=$(nproc)
case "$flavour" in
  # Every build keeps line tables only (-g1): perf and the sanitizers' reports name function,
  # file and line, and a source compiles in about two thirds of the CPU time of full debug
  # information (-g; scripts/package.sh's own build keeps that, and the .deb is stripped).
  release) dir=build; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo
                             "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG") ;;
  asan)    dir=build-asan; flags=(-DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1
                                  -DSOS_SANITIZE=ON -DSOS_BUILD_BENCH=OFF) ;;
  tsan)    dir=build-tsan; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo
                                  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG"
                                  -DSOS_TSAN=ON -DSOS_BUILD_BENCH=OFF) ;;
  *) echo "build: unknown flavour '$flavour' (release, asan or tsan)" >&2; exit 2 ;;
esac
# The sanitizer builds compile with clang when it is installed (scripts/setup.sh installs it for
# the fuzz targets and the checks): from scratch, unity, on 2 cores, the ASan build took 367 s of
# CPU against GCC's 755, the ThreadSanitizer binary 256 against 343; and clang's UBSan checks each
# virtual call's dynamic type too (vptr). The release build, the binary that ships, is GCC's.
# SOS_SANITIZER_CXX=g++ keeps GCC. A directory configured with another compiler starts afresh.
if [[ "$flavour" != release ]]; then
  cxx=$(command -v "${SOS_SANITIZER_CXX:-clang++}" || command -v c++)
  flags+=(-DCMAKE_CXX_COMPILER="$cxx")
  if [[ -f "$dir/CMakeCache.txt" ]] && ! grep -qx "CMAKE_CXX_COMPILER:FILEPATH=$cxx" "$dir/CMakeCache.txt"; then
    rm -rf "$dir"
  fi
fi
unity=${SOS_UNITY:-OFF}
cmake -S . -B "$dir" -G Ninja -DSOS_WERROR=ON "${flags[@]}" -DCMAKE_UNITY_BUILD="$unity" \
  -DCMAKE_UNITY_BUILD_BATCH_SIZE=16 -DSOS_UNIT_TESTS_WHOLE="${SOS_UNIT_TESTS_WHOLE:-OFF}" >/dev/null
cmake --build "$dir" -j "$jobs" "${targets[@]}"
