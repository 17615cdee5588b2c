#!/usr/bin/env bash
# Builds sosproxy three times (release, ASan+UBSan, ThreadSanitizer) and runs every unit and
# integration test in each, then builds and tests the Debian package, and runs the fuzz, load,
# flood and benchmark scripts in quick mode. This is the README's test command and what CI runs.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1 second_deadlock_stack=1}

for flavour in release asan tsan; do
  echo "=== $flavour build ==="
  scripts/build.sh "$flavour"
  dir=build; [ "$flavour" != release ] && dir=build-$flavour
  echo "=== $flavour tests ==="
  ctest --test-dir "$dir" --output-on-failure -j 2 --timeout 300
done
echo "=== PIDF-LO corpus: what reaches the PSAP for each document (tests/data/pidf-corpus) ==="
build/tests/integration/b2bua_integration_test --gtest_filter='BodyRelay.PidfLoCorpus*' |
  sed -n '/^document |/,/^\[/p' | sed '$d'

echo "=== RFC 4475 torture messages: what sosproxy answers to each (tests/data/sip-torture) ==="
build/tests/integration/b2bua_integration_test --gtest_filter='Torture.*' |
  sed -n '/^message |/,/^\[/p' | sed '$d'
echo "=== Debian package: build, unpack, verify the unit, start it (tests/package) ==="
tests/package/package_test.sh

echo "=== fuzz targets, bounded ==="
scripts/fuzz.sh 15
echo "=== load script, quick mode ==="
scripts/load-test.sh build/proxy/sosproxy --rate 50 --seconds 2
echo "=== flood script, quick mode ==="
scripts/flood-test.sh build/proxy/sosproxy --seconds 2 --flood-rate 400 --emergency-rate 2
echo "=== edge flood script, quick mode ==="
scripts/edge-flood.sh build/proxy/sosproxy --quick
echo "=== comparison harness, quick mode ==="
bench/compare.sh build/proxy/sosproxy --quick
echo "=== established-calls memory script, quick mode ==="
bench/hold-calls.sh build/proxy/sosproxy --quick
