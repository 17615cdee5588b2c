#!/usr/bin/env bash
# Checks the include graph, builds sosproxy twice (release, then ASan+UBSan), checks the style
# against the release build, and runs every unit and integration test in both. This is the
# README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

echo "=== include graph ==="
scripts/check-includes.sh
for flavour in release asan; do
  echo "=== $flavour build ==="
  scripts/build.sh "$flavour"
  dir=build; [ "$flavour" = asan ] && dir=build-asan
  if [ "$flavour" = release ]; then
    echo "=== style: clang-format and clang-tidy ==="
    scripts/check-style.sh build
  fi
  echo "=== $flavour tests ==="
  ctest --test-dir "$dir" --output-on-failure -j 2 --timeout 300
done
echo "=== fuzz targets, bounded ==="
scripts/fuzz.sh 15
echo "=== load script, quick mode ==="
scripts/load-test.sh build/proxy/sosproxy --rate 50 --seconds 2
echo "=== flood script, quick mode ==="
scripts/flood-test.sh build/proxy/sosproxy --seconds 2 --flood-rate 400 --emergency-rate 2
echo "=== comparison harness, quick mode ==="
bench/compare.sh build/proxy/sosproxy --quick
echo "=== established-calls memory script, quick mode ==="
bench/hold-calls.sh build/proxy/sosproxy --quick
