#!/usr/bin/env bash
# Installs the Debian packages sosproxy needs, when any is missing.
#
#   scripts/setup.sh            everything to build, test and benchmark sosproxy and build its
#                               .deb (what scripts/test.sh and scripts/run-demo.sh run)
#   scripts/setup.sh --runtime  only what a production host needs to run it: the shared
#                               libraries sosproxy links, adduser and logrotate (the .deb's
#                               maintainer scripts and logrotate snippet) and the sqlite3 shell
#                               (to read call records). No compiler, no Kamailio, clang,
#                               benchmarks, SIPp or Chromium. `dpkg -i sosproxy_*.deb` then
#                               finds every dependency in place.
#
# Idempotent; needs root (or sudo) only when something has to be installed. The package names
# are Debian 12's.
set -euo pipefail

mode=all
case "${1:-}" in
  "") ;;
  --runtime) mode=runtime ;;
  -h|--help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
  *) echo "setup: unknown option '$1' (none, or --runtime)" >&2; exit 2 ;;
esac

runtime=(
  libsofia-sip-ua0 libyaml-cpp0.7 libspdlog1.10 libfmt9 libsqlite3-0 libjemalloc2 libssl3
  libxml2
  libpq5                   # the store's PostgreSQL engine (store.backend: postgresql)
  adduser logrotate        # the .deb's postinst (system user) and /etc/logrotate.d/sosproxy
  sqlite3                  # the sqlite3 shell, to read call records by hand
)
build=(
  build-essential cmake ninja-build pkg-config
  lld                      # the linker the builds use when it is there (CMakeLists.txt: SOS_LLD)
  libsofia-sip-ua-dev      # SIP stack (nta transaction layer)
  libyaml-cpp-dev          # configuration
  libspdlog-dev libfmt-dev # logging
  nlohmann-json3-dev       # JSON routing log
  libboost-dev             # Asio/Beast (admin server, notifications)
  libsqlite3-dev           # location store
  libpq-dev                # ... and its PostgreSQL engine (libpq)
  postgresql               # the store tests against PostgreSQL (scripts/pg-local.sh, a scratch server)
  libjemalloc-dev          # sosproxy's allocator (README: Dependencies)
  libssl-dev               # HMAC-SHA256 of webhook alerts; HTTPS, TLS of webhooks and mail; SIP over TLS certificate checks
  openssl                  # the tests make their own CA and certificates (tests/integration)
  libjs-chart.js           # Chart.js, the dashboard's charts (compiled into sosproxy)
  sqlite3                  # the sqlite3 shell, to read call records by hand
  libgtest-dev libgmock-dev libbenchmark-dev
  sip-tester               # sipp: integration and load tests
  socat                    # SIP over TLS tests: TLS in front of SIPp (Debian's has none)
  chromium chromium-driver # the self-service page's tests in headless Chromium (tests/browser)
  kamailio                 # the comparison router of bench/compare.sh (never started otherwise)
  libxml2-dev              # PIDF-LO parsing (no DTDs, no entities, size and depth limits)
  libxml2-utils            # xmllint: PIDF-LO schema checks
  clang libclang-rt-14-dev # libFuzzer for the parser fuzz targets
  clang-format clang-tidy  # scripts/check-style.sh
  python3
  dpkg-dev                 # dpkg-shlibdeps: the .deb's dependencies (scripts/package.sh)
  groff-base               # the package test renders sosproxy(8)
  logrotate                # ... and rotates the routing log with the packaged snippet
)
if [ "$mode" = runtime ]; then packages=("${runtime[@]}"); else packages=("${build[@]}"); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#packages[@]} packages present ($mode)"
  exit 0
fi

echo "setup: installing ${missing[*]}"
sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: run as root or install sudo" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -q
"${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
# Kamailio is here only as the comparison in bench/compare.sh, which starts its own instance:
# a service the package may have started would hold the demo's port 5060.
if [[ " ${missing[*]} " == *" kamailio "* ]] && command -v systemctl >/dev/null &&
   systemctl is-active --quiet kamailio 2>/dev/null; then
  "${sudo_cmd[@]}" systemctl disable --now kamailio || true
fi
