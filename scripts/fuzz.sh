#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (build-fuzz/, -DSOS_FUZZ=ON) and runs each for
# SECONDS (default 20) on a scratch copy of its seed corpus (fuzz/corpus/<name>/), so the
# committed corpus only changes by hand. Exit status is non-zero if any target finds a crash.
#
#   scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}

# Line tables only (-g1), as scripts/build.sh's builds: a crash's stack still names file and line.
# SOS_UNITY=ON (the test command sets it) builds unity translation units, as scripts/build.sh.
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSOS_WERROR=ON \
  "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG" -DCMAKE_UNITY_BUILD="${SOS_UNITY:-OFF}" \
  -DCMAKE_UNITY_BUILD_BATCH_SIZE=16 -DSOS_FUZZ=ON -DSOS_BUILD_TESTS=OFF -DSOS_BUILD_BENCH=OFF >/dev/null
cmake --build build-fuzz -j 2 --target pidf_parse_fuzz headers_fuzz multipart_fuzz sip_edge_fuzz sip_wire_fuzz

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

status=0
for pair in pidf_parse_fuzz:pidf headers_fuzz:headers multipart_fuzz:multipart sip_edge_fuzz:sip sip_wire_fuzz:sip; do
  target=${pair%%:*}
  corpus=${pair##*:}
  mkdir -p "$scratch/$corpus" "$scratch/artifacts-$target"
  cp fuzz/corpus/"$corpus"/* "$scratch/$corpus/"
  echo "=== $target: ${seconds}s on fuzz/corpus/$corpus ==="
  # -max_len covers the parser's 64 KiB body limit; -timeout flags a single slow input.
  if build-fuzz/fuzz/"$target" "$scratch/$corpus" -max_total_time="$seconds" -max_len=70000 \
      -timeout=10 -print_final_stats=1 -artifact_prefix="$scratch/artifacts-$target/" \
      >"$scratch/$target.log" 2>&1; then
    grep -E '^(#[0-9]+\s+DONE|Done [0-9]+ runs|stat::number_of_executed_units|stat::peak_rss_mb)' \
      "$scratch/$target.log" || tail -n 3 "$scratch/$target.log"
    echo "$target: OK"
  else
    tail -n 40 "$scratch/$target.log"
    mkdir -p build-fuzz/crashes
    cp -r "$scratch/artifacts-$target" build-fuzz/crashes/ || true
    echo "$target: FAILED (reproducers in build-fuzz/crashes/artifacts-$target)"
    status=1
  fi
done
exit $status
