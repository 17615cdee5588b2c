#!/usr/bin/env bash
# The README's test command and what CI runs. First the include graph, the sizes and the format
# of the sources; clang-tidy (no build needed: scripts/check-style.sh) starts then and runs
# beside everything else at the lowest priority, its result read at the end; then three builds of
# sosproxy, each with the tests it is there for:
#   ASan+UBSan (build-asan/)  every unit and integration test on SQLite, the store's, the
#                              outbox's, the planner's and the dashboard's unit tests once more
#                              against a scratch PostgreSQL (scripts/pg-local.sh), and the
#                              PIDF-LO corpus and RFC 4475 tables;
#   ThreadSanitizer (build-tsan/)  only the binary: the ASan build's integration tests (the
#                              browser's too) start it instead of their own (SOS_TEST_SOSPROXY),
#                              each on a database of its own on that PostgreSQL server: the real
#                              binary with all its threads (SIP, I/O, log writers, the change
#                              feed) under load from real SIPp peers, and the whole integration
#                              suite on store.backend postgresql;
#   release (build/)          the binary that ships: packed as a .deb and tested, then the
#                              fuzz, load, flood and comparison scripts in quick mode.
# Each phase prints how long the run has taken so far.
# The builds are unity builds (scripts/build.sh): from scratch, as on a fresh clone, they take
# well under half the time. The two sanitizer builds compile with clang (scripts/build.sh says
# why), the release build with GCC: the libraries and the binary build warning-free with both,
# the tests with clang.
set -euo pipefail
cd "$(dirname "$0")/.."
export SOS_UNITY=${SOS_UNITY:-ON}
started=$SECONDS
phase() { echo "=== $* ($((SECONDS - started)) s) ==="; }
scripts/setup.sh
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1 second_deadlock_stack=1}

phase "include graph"
scripts/check-includes.sh
phase "sizes (files and functions of proxy/ and routing/)"
scripts/check-sizes.sh
phase "format (clang-format)"
scripts/check-style.sh --format
# The tidy step (each library source compiled on its own, then clang-tidy over the unity units:
# about 3.5 minutes of both cores) waits for nothing, while the builds link on one core and the
# integration tests spend much of their time waiting on SIPp, timers and browsers: so it runs
# beside them at the lowest priority, in a session of its own, and its findings are printed,
# and fail the run, at the end.
# A new session is a scheduling group of its own on a kernel with autogroups, where nice counts
# only within the group: the group itself is given nice 19 too.
tidy_log=$(mktemp /tmp/sosproxy-tidy.XXXXXX)
pg_dir=""
cleanup() {
  [[ -n "${tidy_pid:-}" ]] && kill -- "-$tidy_pid" 2>/dev/null
  if [[ -n "$pg_dir" ]]; then
    scripts/pg-local.sh stop "$pg_dir" >/dev/null 2>&1 || true
    rm -rf "$pg_dir"
  fi
  rm -f "$tidy_log"
}
trap cleanup EXIT
phase "clang-tidy started beside what follows (nice 19; its result at the end)"
tidy='echo 19 >/proc/self/autogroup 2>/dev/null; exec nice -n 19 scripts/check-style.sh --tidy'
setsid bash -c "$tidy" >"$tidy_log" 2>&1 &
tidy_pid=$!

phase "asan build"
# Each unit test executable runs as one test, all of its tests in one process: started once per
# test, its process took about half a second of CPU before the test began (some 230 s of the
# tests' time on 2 cores); each integration test stays a test of its own.
SOS_UNIT_TESTS_WHOLE=ON scripts/build.sh asan
phase "asan tests: all (each unit test executable whole, each integration test on its own)"
ctest --test-dir build-asan --output-on-failure -j 2 --timeout 300 --no-tests=error

phase "store, outbox, planner and dashboard unit tests against PostgreSQL (ASan build, a scratch server of scripts/pg-local.sh)"
# One process each, the tests in order: each empties the database the one before it used.
pg_dir=$(mktemp -d /tmp/sosproxy-pg.XXXXXX)
pg_url=$(scripts/pg-local.sh start "$pg_dir")
SOSPROXY_TEST_POSTGRESQL=$pg_url build-asan/tests/store_test --gtest_brief=1
SOSPROXY_TEST_POSTGRESQL=$pg_url build-asan/tests/notify_test --gtest_brief=1 \
  --gtest_filter='NotifierTest.*'
SOSPROXY_TEST_POSTGRESQL=$pg_url build-asan/tests/planner_test --gtest_brief=1
SOSPROXY_TEST_POSTGRESQL=$pg_url build-asan/tests/admin_test --gtest_brief=1 \
  --gtest_filter='Dashboard.*'

phase "tsan build"
scripts/build.sh tsan sosproxy
phase "tsan tests: label integration, store.backend postgresql, against the ThreadSanitizer binary"
# Each test makes a database of its own on the scratch server (tests/integration/b2bua_fixture.h);
# the few about SQLite's file skip themselves.
SOSPROXY_TEST_POSTGRESQL=$pg_url SOS_TEST_SOSPROXY="$PWD/build-tsan/proxy/sosproxy" \
  ctest --test-dir build-asan --output-on-failure -j 2 --timeout 300 --no-tests=error \
  -L integration
scripts/pg-local.sh stop "$pg_dir"

phase "release build"
release_targets=(sosproxy)
grep -q '^SOS_BUILD_BENCH:BOOL=OFF' build/CMakeCache.txt 2>/dev/null ||
  release_targets+=(location_resolve_bench hot_path_bench)
scripts/build.sh release "${release_targets[@]}"

phase "PIDF-LO corpus (ASan build): what reaches the PSAP for each document (tests/data/pidf-corpus)"
build-asan/tests/integration/b2bua_integration_test --gtest_filter='BodyRelay.PidfLoCorpus*' |
  sed -n '/^document |/,/^\[/p' | sed '$d'

phase "RFC 4475 torture messages (ASan build): what sosproxy answers to each (tests/data/sip-torture)"
build-asan/tests/integration/b2bua_integration_test --gtest_filter='Torture.*' |
  sed -n '/^message |/,/^\[/p' | sed '$d'
phase "Debian package from the release build: pack, unpack, verify the unit, start it (tests/package)"
SOS_PACKAGE_DIR=build SOS_PACKAGE_REUSE=1 tests/package/package_test.sh

phase "fuzz targets, bounded"
scripts/fuzz.sh 10
phase "load script, quick mode"
scripts/load-test.sh build/proxy/sosproxy --rate 50 --seconds 2
phase "flood script, quick mode"
scripts/flood-test.sh build/proxy/sosproxy --seconds 2 --flood-rate 400 --emergency-rate 2
phase "edge flood script, quick mode"
scripts/edge-flood.sh build/proxy/sosproxy --quick
phase "comparison harness, quick mode"
bench/compare.sh build/proxy/sosproxy --quick
phase "established-calls memory script, quick mode"
bench/hold-calls.sh build/proxy/sosproxy --quick
phase "import benchmark, quick mode"
bench/import-bench.sh build/proxy/sosproxy --quick
phase "clang-tidy (started at the beginning): its result"
tidy_status=0
wait "$tidy_pid" || tidy_status=$?
tidy_pid=""
cat "$tidy_log"
[[ "$tidy_status" -eq 0 ]] || { echo "clang-tidy failed (status $tidy_status)" >&2; exit 1; }
phase "all passed"
