#!/usr/bin/env bash
# The Debian package as an administrator gets it (issue 21, "what it must show" 1):
#   1. scripts/package.sh builds the .deb;
#   2. dpkg-deb -x unpacks it into a temporary root: the files, conffiles, maintainer scripts
#      and dependencies are where they belong, the manual page renders without a warning;
#   3. systemd-analyze verify checks the unit (skipped, with a message, without systemd-analyze);
#   4. the unpacked binary runs on the unpacked example configuration, its paths and ports moved
#      into the temporary root: check-config accepts it, sosproxy prints its ready line,
#      /healthz and /readyz answer 200, its store is created under var/lib/sosproxy;
#   5. with logrotate and sipp at hand, the unpacked logrotate snippet rotates the routing log
#      and a new routing.log follows (skipped, with a message, without them);
#   6. sosproxy stops on SIGTERM, by its PID, with status 0.
# Run by scripts/test.sh. SOS_PACKAGE_DEB=FILE tests that .deb instead of building one.
set -euo pipefail
cd "$(dirname "$0")/../.."

say() { echo "package test: $*"; }
fail() { echo "package test: FAILED: $*" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/sosproxy-package-test.XXXXXX")
pid=
cleanup() {
  if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then kill -KILL "$pid" 2>/dev/null || true; fi
  if [ -n "${SOS_KEEP_TEST_DIRS:-}" ]; then echo "package test: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

# --- 1. build
if [ -n "${SOS_PACKAGE_DEB:-}" ]; then
  deb=$SOS_PACKAGE_DEB
else
  deb=$(scripts/package.sh | tail -n 1)
fi
[ -f "$deb" ] || fail "no package at '$deb'"
say "built $deb"

# --- 2. unpack and look
root=$work/root
dpkg-deb -x "$deb" "$root"
dpkg-deb -e "$deb" "$work/control"
for f in usr/sbin/sosproxy usr/share/man/man8/sosproxy.8.gz etc/sosproxy/sosproxy.yaml \
         etc/sosproxy/locations.yaml etc/logrotate.d/sosproxy lib/systemd/system/sosproxy.service \
         usr/share/sosproxy/grafana/sosproxy-dashboard.json; do
  [ -f "$root/$f" ] || fail "/$f is not in the package"
done
[ -x "$root/usr/sbin/sosproxy" ] || fail "/usr/sbin/sosproxy is not executable"
for f in /etc/sosproxy/sosproxy.yaml /etc/sosproxy/locations.yaml /etc/logrotate.d/sosproxy; do
  grep -qx "$f" "$work/control/conffiles" || fail "$f is not a conffile"
done
for s in postinst prerm postrm; do
  [ -x "$work/control/$s" ] || fail "no executable $s"
done
grep -q 'adduser --system' "$work/control/postinst" || fail "postinst creates no system user"
depends=$(dpkg-deb --field "$deb" Depends)
for d in adduser libsofia-sip-ua0 libjemalloc2 libsqlite3-0; do
  [[ "$depends" == *"$d"* ]] || fail "Depends lacks $d: $depends"
done
version=$(dpkg-deb --field "$deb" Version)
"$root/usr/sbin/sosproxy" --version | grep -q "^sosproxy $version (commit " ||
  fail "--version does not say $version: $("$root/usr/sbin/sosproxy" --version)"
if command -v groff >/dev/null; then
  warnings=$(zcat "$root/usr/share/man/man8/sosproxy.8.gz" | groff -man -Tutf8 -ww -z 2>&1)
  [ -z "$warnings" ] || fail "sosproxy(8) does not render cleanly: $warnings"
else
  say "groff not installed: the manual page is not rendered"
fi
say "files, conffiles, maintainer scripts, Depends and sosproxy(8) are in place"

# --- 3. the unit
if command -v systemd-analyze >/dev/null; then
  # The unit as shipped, but for ExecStart's binary, which is in the temporary root (so that
  # verify can check that it is executable); `man sosproxy(8)` finds the unpacked page.
  mkdir -p "$work/unit"
  sed "s|/usr/sbin/sosproxy|$root/usr/sbin/sosproxy|" "$root/lib/systemd/system/sosproxy.service" \
    > "$work/unit/sosproxy.service"
  MANPATH=$root/usr/share/man systemd-analyze verify "$work/unit/sosproxy.service" ||
    fail "systemd-analyze verify refused the unit"
  say "systemd-analyze verify: unit accepted ($(systemd-analyze security --offline=true \
    "$work/unit/sosproxy.service" 2>/dev/null | tail -n 1 | sed 's/^→ //'))"
else
  say "systemd-analyze not installed: the unit is not verified"
fi

# --- 4. run the unpacked binary on the unpacked configuration
free_port() {
  python3 -c 'import socket
while True:
    t = socket.socket(); t.bind(("127.0.0.1", 0)); p = t.getsockname()[1]
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        u.bind(("127.0.0.1", p)); break
    except OSError:
        pass
    finally:
        u.close(); t.close()
print(p)'
}
sip=$(free_port); admin=$(free_port); carrier=$(free_port)
config=$root/etc/sosproxy/sosproxy.yaml
sed -i -e "s|/var/lib/sosproxy|$root/var/lib/sosproxy|" -e "s|/var/log/sosproxy|$root/var/log/sosproxy|" \
  -e "s|^  port: 5060$|  port: $sip|" -e "s|^  port: 8080$|  port: $admin|" \
  -e "s|^    port: 5080$|    port: $carrier|" "$config"
if ! grep -q "port: $sip" "$config" || ! grep -q "port: $admin" "$config"; then
  fail "the ports of the installed configuration were not found to move them"
fi
"$root/usr/sbin/sosproxy" check-config "$config" >"$work/check.out" ||
  fail "check-config refused the installed configuration: $(cat "$work/check.out")"

http_status() {
  python3 -c 'import sys, urllib.request, urllib.error
try:
    print(urllib.request.urlopen(sys.argv[1], timeout=5).status)
except urllib.error.HTTPError as e:
    print(e.code)
except Exception:
    print(0)' "http://127.0.0.1:$admin$1"
}
"$root/usr/sbin/sosproxy" --config "$config" >"$work/sosproxy.out" 2>"$work/sosproxy.err" &
pid=$!
deadline=$((SECONDS + 20))
until grep -q "^sosproxy ready:" "$work/sosproxy.out"; do
  kill -0 "$pid" 2>/dev/null || fail "sosproxy exited before it was ready: $(cat "$work/sosproxy.err")"
  [ $SECONDS -lt $deadline ] || fail "no ready line within 20 s: $(cat "$work/sosproxy.err")"
  sleep 0.05
done
say "$(head -n 1 "$work/sosproxy.out")"
[ "$(http_status /healthz)" = 200 ] || fail "/healthz did not answer 200"
[ "$(http_status /readyz)" = 200 ] || fail "/readyz did not answer 200"
[ -f "$root/var/lib/sosproxy/sosproxy.db" ] || fail "no store at var/lib/sosproxy/sosproxy.db"
say "/healthz and /readyz answer 200; the store is in var/lib/sosproxy"

# --- 5. logrotate moves the routing log, SIGHUP, a new routing.log
log=$root/var/log/sosproxy/routing.log
if command -v logrotate >/dev/null && command -v sipp >/dev/null; then
  call() {  # one ordinary call; the carrier is not there, so it fails, which is logged too
    sipp -sn uac -s 5551234 "127.0.0.1:$sip" -i 127.0.0.1 -p "$(free_port)" -m 1 -nostdin \
      -timeout 20s -trace_err -error_file "$work/sipp-$1.err" >/dev/null 2>&1 || true
  }
  call 1
  deadline=$((SECONDS + 10))
  until grep -q "event=final" "$log" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || fail "no final routing-log line for the first call"
    sleep 0.05
  done
  # The snippet as shipped, for this root and this user; its postrotate signals our process.
  user=$(id -un); group=$(id -gn)
  sed -e "s|/var/log/sosproxy|$root/var/log/sosproxy|" \
      -e "s|su sosproxy sosproxy|su $user $group|" -e "s|create 0640 sosproxy sosproxy|create 0640 $user $group|" \
      -e "/postrotate/a\\        kill -HUP $pid" -e "/postrotate/,/endscript/{/postrotate/n;/endscript/!d}" \
      "$root/etc/logrotate.d/sosproxy" > "$work/logrotate.conf"
  logrotate --force --state "$work/logrotate.state" "$work/logrotate.conf" ||
    fail "logrotate refused the snippet: $(cat "$work/logrotate.conf")"
  [ -s "$log.1" ] || fail "logrotate did not move routing.log to routing.log.1"
  deadline=$((SECONDS + 10))
  until grep -q "routing log $log reopened" "$work/sosproxy.err"; do
    [ $SECONDS -lt $deadline ] || fail "sosproxy did not reopen the routing log after SIGHUP"
    sleep 0.05
  done
  call 2
  deadline=$((SECONDS + 10))
  until grep -q "event=final" "$log" 2>/dev/null; do
    [ $SECONDS -lt $deadline ] || fail "the second call's lines are not in the new routing.log"
    sleep 0.05
  done
  [ "$(grep -c 'event=final' "$log.1")" = 1 ] || fail "routing.log.1 should hold the first call only"
  say "logrotate moved routing.log, SIGHUP, the next call went to a new routing.log"
else
  say "logrotate or sipp not installed: the logrotate snippet is not run"
fi

# --- 6. stop
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
pid=
[ "$status" = 0 ] || fail "sosproxy exited with $status on SIGTERM: $(cat "$work/sosproxy.err")"
say "stopped on SIGTERM with status 0"
say "passed"
