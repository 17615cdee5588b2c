#!/usr/bin/env bash
# CSV import at enterprise size, and what it costs a 911 placed while it runs (issue 16).
#
#   bench/import-bench.sh [SOSPROXY_BIN] [--users N] [--locations N] [--rate CPS] [--quick] [--keep]
#
# Generates a users file (--users, default 10000) and a locations file with networks
# (--locations, default 2000: each with a subnet, an ELIN, a BSSID range and a switch port), on
# the demo enterprise's sites, and times with `sosproxy import` (a database file of its own):
#   1. the locations, then the users, as a dry run (the database is checked unchanged after);
#   2. the same, written;
#   3. both exported and imported back (nothing changes).
# Then it starts sosproxy on that database with a SIPp PSAP, and places 911 calls at --rate
# (default 50/s) from 1001 for as long as two more imports of every user run against it, one
# with the CLI (another process; sosproxy sees the new data version and rebuilds its snapshot)
# and one through the admin API (on sosproxy's own I/O thread); and, for comparison, the same
# number of 911 calls with nothing else running. For each it prints the time sosproxy added to
# the INVITE (added_ms of the routing log: INVITE in -> INVITE to the PSAP out) as p50, p99 and
# max, and how many calls completed. --quick: 500 users, 100 locations, 10 calls/s. Reports,
# never judges: the exit status is non-zero only when the run could not be done.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
scenarios="$root/sipp-scenarios"

bin="$root/build/proxy/sosproxy"
users=10000
locations=2000
rate=50
keep=0

usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "import-bench: $*" >&2; exit 2; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --users) users="${2:?--users needs a value}"; shift 2 ;;
    --locations) locations="${2:?--locations needs a value}"; shift 2 ;;
    --rate) rate="${2:?--rate needs a value}"; shift 2 ;;
    --quick) users=500; locations=100; rate=10; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --*) usage >&2; die "unknown option $1" ;;
    *) bin="$1"; shift ;;
  esac
done
for v in users locations rate; do
  [[ "${!v}" =~ ^[0-9]+$ && "${!v}" -gt 0 ]] || die "--$v must be a positive integer"
done
[[ "$locations" -le 60000 ]] || die "--locations: at most 60000 (one /24 each under 10.64.0.0/10)"
[[ -x "$bin" ]] || die "no sosproxy binary at $bin (build it first, or pass its path)"
command -v sipp >/dev/null || die "sipp is not on PATH"
command -v python3 >/dev/null || die "python3 is not on PATH"

work="$(mktemp -d "${TMPDIR:-/tmp}/sosproxy-import.XXXXXX")"
# shellcheck source=../scripts/lib/run.sh
source "$root/scripts/lib/run.sh"

# ---- The files ----
# generate.py USERS LOCATIONS DIR SUFFIX: users.csv and locations.csv; SUFFIX goes into every
# user's name, so a second file with another suffix changes every user.
cat >"$work/generate.py" <<'PY'
import sys
users, locations, out, suffix = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
with open(f"{out}/users.csv", "w") as f:
    f.write("extension,did,name,site,nomadic,location_permission\n")
    for i in range(users):
        site = "HQ" if i % 4 else "London"
        did = f"+1312{i:07d}" if site == "HQ" else f"+4420{i:07d}"
        f.write(f"{300000 + i},{did},User {i} {suffix},{site},{'yes' if i % 3 == 0 else 'no'},yes\n")
with open(f"{out}/locations.csv", "w") as f:
    f.write("key,name,site,country,A1,A3,RD,STS,HNO,PC,FLR,ROOM,elins,subnets,bssids,switches\n")
    for i in range(locations):
        a, b = 64 + i // 256, i % 256
        f.write(f"gen-{i:05d},Building {i // 100} Room {i},HQ,US,IL,Springfield,Main,St,{100 + i // 100},"
                f"62701,{i % 40},{i},+1217{6000000 + i},10.{a}.{b}.0/24,"
                f"02:00:{a:02x}:{b:02x}:00:0*,02:10:00:{a:02x}:{b:02x}:00 Gi1/0/{i % 48 + 1}\n")
PY
mkdir -p "$work/one" "$work/two" "$work/three"
python3 "$work/generate.py" "$users" "$locations" "$work/one" first
python3 "$work/generate.py" "$users" "$locations" "$work/two" second
python3 "$work/generate.py" "$users" "$locations" "$work/three" third

# The demo enterprise on free ports with a database file of its own (seeded from the demo).
proxy_port="$(free_port)"; admin_port="$(free_port)"; psap_a_port="$(free_port)"
declare -A trunk_ports=([il-psap-a]="$psap_a_port")
write_demo_config "$bin" "$work/sosproxy.yaml" udp --set "listen.transports=[udp]" \
  --set "store={path: \"$work/sosproxy.db\", seed: \"$root/config/examples/demo-locations.yaml\"}" \
  --set "logging.level=warn"
cli() { "$bin" "$@" --config "$work/sosproxy.yaml"; }

now_ms() { date +%s%3N; }
# timed LABEL COMMAND...: runs it, prints LABEL and its wall time; its output goes to $work/last.
timed() {
  local label="$1" t0 t1
  shift
  t0="$(now_ms)"
  "$@" >"$work/last" 2>&1 || { cat "$work/last" >&2; die "$label failed"; }
  t1="$(now_ms)"
  printf '  %-44s %6d ms   %s\n' "$label" "$((t1 - t0))" "$(head -1 "$work/last")"
}

echo "import-bench: $users users, $locations locations with networks (sosproxy import, a database file)"
cli export users >"$work/before.csv"   # opens and seeds the database
timed "locations, dry run" cli import --dry-run "$work/one/locations.csv"
timed "users, dry run" cli import --dry-run "$work/one/users.csv"
cli export users >"$work/after-dry.csv"
cmp -s "$work/before.csv" "$work/after-dry.csv" && echo "  database unchanged by the dry runs" ||
  echo "  DATABASE CHANGED BY A DRY RUN"
timed "locations, written" cli import "$work/one/locations.csv"
timed "users, written" cli import "$work/one/users.csv"
for kind in locations users; do
  cli export "$kind" --output "$work/export-$kind.csv"
  timed "$kind exported and imported back" cli import --mode replace "$work/export-$kind.csv"
done

# ---- 911 calls while imports run ----
start_sosproxy "$bin" "$work/sosproxy.yaml"
token="$(cli token create --name bench --role super-admin 2>/dev/null)"
calls_for() { echo $(( $1 * rate )); }
# run_911 NAME CALLS: 911 calls from 1001 at --rate, in the background (pid in sos_pid).
run_911() {
  sipp -sf "$scenarios/uac-load-call.xml" "127.0.0.1:$proxy_port" -i 127.0.0.1 -p "$(free_port)" \
    -t u1 -s 911 -r "$rate" -m "$2" -cp "$(free_port)" -mp "$(free_port)" -nostdin \
    -timeout 120s -timeout_error -trace_stat -stf "$work/$1.csv" -fd 1 \
    -trace_err -error_file "$work/$1.errors" </dev/null >"$work/$1.stdout" 2>&1 &
  sos_pid=$!
  pids+=("$sos_pid")
}
api_import() {
  python3 - "$admin_port" "$token" "$1" <<'PY'
import sys, urllib.request
port, token, path = sys.argv[1], sys.argv[2], sys.argv[3]
req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/import/users", data=open(path, "rb").read(),
                             method="POST", headers={"Authorization": f"Bearer {token}",
                                                     "Content-Type": "text/csv"})
with urllib.request.urlopen(req, timeout=120) as r:
    body = r.read().decode()
    print(body[:body.find(',"changes"')] + "}")
PY
}
# added_stats FROM_LINE T0_MS T1_MS LABEL: added_ms of the routing log's route lines after line
# FROM_LINE, as p50 / p99 / max and a count, for the calls routed between T0_MS and T1_MS (Unix
# ms) and for all of them.
added_stats() {
  tail -n +"$(( $1 + 1 ))" "$work/routing.log" | python3 -c '
import re, sys
from datetime import datetime
t0, t1 = int(sys.argv[1]), int(sys.argv[2])
inside, every = [], []
for line in sys.stdin:
    if " event=route " not in line:
        continue
    ts, added = re.search(r"\bts=(\S+)", line), re.search(r" added_ms=([0-9.]+)", line)
    if not ts or not added:
        continue
    at = datetime.fromisoformat(ts.group(1).replace("Z", "+00:00")).timestamp() * 1000
    every.append(float(added.group(1)))
    if t0 <= at <= t1:
        inside.append(float(added.group(1)))
def figures(v):
    if not v:
        return "no calls"
    v.sort()
    pick = lambda q: v[max(0, min(len(v) - 1, int(len(v) * q + 0.5) - 1))]
    return f"p50 {pick(0.5):.2f} ms, p99 {pick(0.99):.2f} ms, max {v[-1]:.2f} ms ({len(v)} calls)"
print(f"{sys.argv[3]}: {figures(inside)}; all: {figures(every)}")
' "$2" "$3" "$4"
}
log_lines() { wc -l <"$work/routing.log" 2>/dev/null || echo 0; }
# during NAME WINDOW_MS IMPORT_COMMAND...: 911s for 4 s, the import started once they flow;
# then the figures, for the calls routed while the import ran (and WINDOW_MS after it: the CLI's
# change is seen by sosproxy within a second and its snapshot rebuilt) and for all.
during() {
  local name="$1" window="$2" from t0 t1 calls
  shift 2
  from="$(log_lines)"
  calls="$(calls_for 4)"
  start_sipp_uas "psap_$name" uas-load-answer-any-invite.xml "$psap_a_port" u1 "$calls" 120
  run_911 "$name" "$calls"
  calls_flow() { [[ "$(stat 'OutgoingCall(C)' "$work/$name.csv")" =~ ^[1-9] ]]; }
  wait_until 10 calls_flow || true
  t0="$(now_ms)"
  "$@" >"$work/$name.import" 2>&1 || { cat "$work/$name.import" >&2; die "$name import failed"; }
  t1="$(now_ms)"
  wait "$sos_pid" || true
  local ok failed
  ok="$(stat 'SuccessfulCall(C)' "$work/$name.csv")"
  failed="$(stat 'FailedCall(C)' "$work/$name.csv")"
  printf '  %-11s import %5s; 911: %s of %s completed, %s failed\n' "$name" \
    "$([[ "$name" == baseline ]] && echo "none" || echo "$((t1 - t0)) ms")" "$ok" "$calls" "$failed"
  local span="while importing"
  [[ "$name" == baseline ]] && span="in its first second"
  printf '              added %s\n' "$(added_stats "$from" "$t0" "$((t1 + window))" "$span")"
  local uas="uas_pid_psap_$name"
  wait "${!uas}" 2>/dev/null || true
}
nothing() { sleep 0; }
echo "import-bench: 911 calls at $rate/s from 1001 through sosproxy (release build: $bin)"
during baseline 1000 nothing
during cli_import 1500 cli import "$work/two/users.csv"
during api_import 0 api_import "$work/three/users.csv"
echo "  (added: INVITE in -> INVITE to the PSAP out inside sosproxy, added_ms of its routing log)"
exit 0
