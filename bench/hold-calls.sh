#!/usr/bin/env bash
# Many established calls at once through sosproxy: resident memory per call.
#
#   bench/hold-calls.sh [SOSPROXY_BIN] [--calls N] [--rate R] [--hold SECONDS] [--quick] [--keep]
#
# Starts sosproxy on the demo enterprise (bench/lib.sh, in memory, UDP) and two SIPp peers on
# loopback, then places --calls 911 calls (default 10000) at --rate per second (default 500) from
# bench/uac-e911.xml with the callers of bench/callers.csv, each answered by bench/uas-answer.xml
# and held --hold seconds (default 60) before the caller hangs up. Every call is located, gets its
# PIDF-LO and goes to the PSAP trunk il-psap-a, as in bench/compare.sh.
# Once sosproxy's /metrics says all the calls are up at the same time, it reads sosproxy's
# resident memory (VmRSS) and its heap in use (sosproxy_heap_in_use_bytes) near the end of the
# hold, when every call has been up for a while and the transactions that set them up are behind
# them (sosproxy_calls_settled_total), and prints each per call against what sosproxy had before
# the first call. RSS keeps what the allocator holds for reuse after the set-up peak; the heap
# figure is what the calls themselves hold. --quick: 300 calls at 100/s held 6 s (what CI runs, so the
# script cannot rot). SOSPROXY_BIN defaults to build/proxy/sosproxy. Reports, never judges: the
# exit status is non-zero only when the run could not be done.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

bin="$root/build/proxy/sosproxy"
calls=10000
rate=500
hold=60
keep=0
quick=0

usage() { sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "hold-calls: $*" >&2; exit 2; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --calls) calls="${2:?--calls needs a value}"; shift 2 ;;
    --rate) rate="${2:?--rate needs a value}"; shift 2 ;;
    --hold) hold="${2:?--hold needs a value}"; shift 2 ;;
    --quick) quick=1; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --*) usage >&2; die "unknown option $1" ;;
    *) bin="$1"; shift ;;
  esac
done
[[ "$quick" -eq 1 ]] && { calls=300; rate=100; hold=6; }
for v in "$calls" "$rate" "$hold"; do
  [[ "$v" =~ ^[0-9]+$ && "$v" -gt 0 ]] || die "--calls, --rate and --hold must be positive integers"
done
ramp=$(( (calls + rate - 1) / rate ))
# All calls are up together from the last set-up (about `ramp` s in) to the first hang-up (`hold`
# s in); the reading is taken 2 s before the first hang-up, so that window must exist.
(( hold >= ramp + 3 )) || die "--hold ($hold s) must be at least 3 s longer than the set-up ($ramp s at $rate/s)"
[[ -x "$bin" ]] || die "no sosproxy binary at $bin (build it first, or pass its path)"
command -v sipp >/dev/null || die "sipp is not on PATH"

work="$(mktemp -d "${TMPDIR:-/tmp}/sosproxy-hold.XXXXXX")"
# shellcheck source=../scripts/lib/run.sh
source "$root/scripts/lib/run.sh"
# shellcheck source=lib.sh
source "$here/lib.sh"

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$proxy_pid/status" 2>/dev/null || echo 0; }
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$proxy_pid/status" 2>/dev/null || echo 0; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f MB", k / 1024 }'; }

proxy_port="$(free_port)"
psap_port="$(free_port)"
admin_port="$(free_port)"
write_sosproxy_config "$work/sosproxy.yaml" "$proxy_port" "$(free_port)" "$psap_port" "$admin_port"
start_sosproxy "$bin" "$work/sosproxy.yaml"
admin_up() { [[ "$(metric sosproxy_active_calls)" =~ ^[0-9]+$ ]]; }
wait_until 10 admin_up || die "sosproxy's /metrics did not answer on 127.0.0.1:$admin_port"
rss_before="$(rss_kb)"
heap_before="$(metric sosproxy_heap_in_use_bytes)"

limit=$((ramp + hold + 60))
start_answerer "$work" "$psap_port" "$calls" "$limit"

echo "hold-calls: $calls 911 calls at $rate/s, each held $hold s, via sosproxy on 127.0.0.1:$proxy_port (UDP)"
start_s="$(date +%s.%N)"
( cd "$work" && exec sipp -sf "$here/uac-e911.xml" -inf "$here/callers.csv" "127.0.0.1:$proxy_port" \
    -i 127.0.0.1 -p "$(free_port)" -t u1 -s 911 -r "$rate" -m "$calls" -l "$calls" \
    -d "$((hold * 1000))" -cp "$(free_port)" -mp "$(media_port)" -nostdin -timeout "${limit}s" \
    -timeout_error -buff_size 4194304 -max_socket 4096 -trace_stat -stf "$work/uac.csv" -fd 1 \
    -trace_err -error_file "$work/uac.errors" </dev/null >"$work/uac.stdout" 2>&1 ) &
uac_pid=$!
pids+=("$uac_pid")

# Every call up at once: sosproxy counts it (an answered, not yet ended call is active).
all_up() {
  local a; a="$(metric sosproxy_active_calls)"
  [[ "$a" =~ ^[0-9]+$ && "$a" -ge "$calls" ]] || ! kill -0 "$uac_pid" 2>/dev/null
}
peak_active=0
if wait_until $((ramp + 30)) all_up && kill -0 "$uac_pid" 2>/dev/null; then
  up_s="$(date +%s.%N)"
  # The reading: 2 s before the first call's hang-up is due.
  read_at="$(awk -v s="$start_s" -v h="$hold" 'BEGIN { printf "%.3f", s + h - 2 }')"
  now="$(date +%s.%N)"
  pause="$(awk -v a="$read_at" -v n="$now" 'BEGIN { d = a - n; printf "%.3f", (d > 0 ? d : 0) }')"
  # A deadline, not a wait for readiness: the calls are up; the hold is what is being measured.
  sleep "$pause"
  peak_active="$(metric sosproxy_active_calls)"
  rss_up="$(rss_kb)"
  hwm_up="$(hwm_kb)"
  heap_up="$(metric sosproxy_heap_in_use_bytes)"
  settled="$(metric sosproxy_calls_settled_total)"
  cpu_up="$(proxy_cpu_seconds)"
  set_up_in="$(awk -v a="$start_s" -v b="$up_s" 'BEGIN { printf "%.1f", b - a }')"
  read_after="$(awk -v a="$start_s" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')"
else
  peak_active="$(metric sosproxy_active_calls)"
  echo "hold-calls: the calls were never all up at once (sosproxy_active_calls reached $peak_active of $calls)"
  rss_up=""
fi

set +e; wait "$uac_pid"; uac_rc=$?; set -e
uas_done() { ! kill -0 "$uas_pid" 2>/dev/null; }
wait_until 15 uas_done || true
rss_after="$(rss_kb)"
hwm_after="$(hwm_kb)"

placed="$(stat 'OutgoingCall(C)' "$work/uac.csv")"
ok="$(stat 'SuccessfulCall(C)' "$work/uac.csv")"
failed="$(stat 'FailedCall(C)' "$work/uac.csv")"
retrans="$(stat 'Retransmissions(C)' "$work/uac.csv")"

echo "calls placed             $placed (SIPp exit $uac_rc)"
echo "calls completed          $ok, failed $failed, retransmissions $retrans"
echo "RSS before the calls     $(mb "$rss_before")"
if [[ -n "$rss_up" ]]; then
  per_call="$(awk -v a="$rss_before" -v b="$rss_up" -v n="$calls" 'BEGIN { printf "%.1f", (b - a) / n }')"
  echo "calls up at once         $peak_active (all up $set_up_in s after the first INVITE; read at $read_after s)"
  echo "RSS with the calls up    $(mb "$rss_up") (peak so far $(mb "$hwm_up"); sosproxy CPU $cpu_up s)"
  echo "RSS per established call $per_call KB  ((RSS with the calls up - RSS before) / $calls)"
  if [[ "$heap_before" =~ ^[0-9]+$ && "$heap_up" =~ ^[0-9]+$ ]]; then
    heap_per_call="$(awk -v a="$heap_before" -v b="$heap_up" -v n="$calls" 'BEGIN { printf "%.1f", (b - a) / 1024 / n }')"
    echo "heap per established call $heap_per_call KB  (sosproxy_heap_in_use_bytes, same way; $settled calls settled)"
  fi
fi
echo "RSS after the hang-ups   $(mb "$rss_after") (peak $(mb "$hwm_after"))"
exit 0
