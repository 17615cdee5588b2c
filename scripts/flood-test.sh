#!/usr/bin/env bash
# Emergency calls under an ordinary-call flood: sosproxy between SIPp callers and SIPp trunks on
# loopback, with free ports.
#
#   scripts/flood-test.sh [SOSPROXY_BIN] [--flood-rate CPS] [--flood-callers N] [--limit CPS]
#                         [--emergency-rate CPS] [--seconds N] [--keep]
#
# Two streams run side by side for --seconds (default 10): ordinary calls at --flood-rate in all
# (default 3000/s, from --flood-callers SIPp processes, default 2: more than sosproxy can carry
# next to them on two cores) and 911 calls from extension 1001 at --emergency-rate (default
# 5/s). sosproxy runs the demo enterprise with `limits: ordinary_calls_per_second: --limit`
# (default 0: no fixed limit) and its default overload shedding: ordinary calls get 503 at once
# while the SIP thread is behind; emergency calls are exempt from both. Prints both streams'
# figures. Reports, never judges: the exit status is non-zero only when the run could not be
# done.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
scenarios="$root/sipp-scenarios"

bin="$root/build/proxy/sosproxy"
flood_rate=3000
flood_callers=2
limit=0
emergency_rate=5
seconds=10
keep=0

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "flood-test: $*" >&2; exit 2; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --flood-rate) flood_rate="${2:?--flood-rate needs a value}"; shift 2 ;;
    --flood-callers) flood_callers="${2:?--flood-callers needs a value}"; shift 2 ;;
    --limit) limit="${2:?--limit needs a value}"; shift 2 ;;
    --emergency-rate) emergency_rate="${2:?--emergency-rate needs a value}"; shift 2 ;;
    --seconds) seconds="${2:?--seconds needs a value}"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --*) usage >&2; die "unknown option $1" ;;
    *) bin="$1"; shift ;;
  esac
done
for v in flood_rate flood_callers emergency_rate seconds; do
  [[ "${!v}" =~ ^[0-9]+$ && "${!v}" -gt 0 ]] || die "--${v//_/-} must be a positive integer"
done
[[ "$limit" =~ ^[0-9]+$ ]] || die "--limit must be a non-negative integer (0: no limit)"
[[ -x "$bin" ]] || die "no sosproxy binary at $bin (build it first, or pass its path)"
command -v sipp >/dev/null || die "sipp is not on PATH"

work="$(mktemp -d "${TMPDIR:-/tmp}/sosproxy-flood.XXXXXX")"
# shellcheck source=lib/run.sh
source "$here/lib/run.sh"

flood_calls=$((flood_rate * seconds))
emergency_calls=$((emergency_rate * seconds))
proxy_port="$(free_port)"; carrier_port="$(free_port)"; psap_a_port="$(free_port)"
admin_port="$(free_port)"
# The demo enterprise on free ports, over UDP, with a limit on ordinary calls.
declare -A trunk_ports=([carrier]="$carrier_port" [il-psap-a]="$psap_a_port")
write_demo_config "$bin" "$work/sosproxy.yaml" udp --set "listen.transports=[udp]" \
  --set "limits.ordinary_calls_per_second=$limit" --set "logging.level=error"

start_sosproxy "$bin" "$work/sosproxy.yaml"
limit_s=$((seconds * 3 + 60))
start_sipp_uas carrier uas-load-answer-any-invite.xml "$carrier_port" u1 "$flood_calls" "$limit_s"
start_sipp_uas psap uas-load-answer-any-invite.xml "$psap_a_port" u1 "$emergency_calls" "$limit_s"

echo "flood-test: $flood_calls ordinary calls at $flood_rate/s from $flood_callers callers (limit ${limit/#0/none}/s) and $emergency_calls 911 calls at $emergency_rate/s, over udp via sosproxy on 127.0.0.1:$proxy_port"
start_ns="$(date +%s%N)"
run_uac() { # run_uac NAME SCENARIO SERVICE RATE CALLS
  sipp -sf "$scenarios/$2" "127.0.0.1:$proxy_port" -i 127.0.0.1 -p "$(free_port)" -t u1 \
    -s "$3" -r "$4" -m "$5" -cp "$(free_port)" -mp "$(free_port)" -nostdin \
    -timeout "${limit_s}s" -timeout_error -trace_stat -stf "$work/$1.csv" -fd 1 \
    -trace_err -error_file "$work/$1.errors" -max_socket 4096 </dev/null >"$work/$1.stdout" 2>&1 &
}
set +e
flood_pids=()
for i in $(seq "$flood_callers"); do
  run_uac "flood$i" uac-flood-call.xml 5551234 $((flood_rate / flood_callers)) $((flood_calls / flood_callers))
  flood_pids+=("$!")
  pids+=("$!")
done
run_uac sos uac-load-call.xml 911 "$emergency_rate" "$emergency_calls"
sos_pid=$!
pids+=("$sos_pid")
wait "$sos_pid"; sos_rc=$?
for p in "${flood_pids[@]}"; do wait "$p" || true; done
set -e
end_ns="$(date +%s%N)"
cpu="$(proxy_cpu_seconds)"
rss="$(proxy_max_rss)"
done_uas() { ! kill -0 "$uas_pid_psap" 2>/dev/null && ! kill -0 "$uas_pid_carrier" 2>/dev/null; }
wait_until 15 done_uas || true

[[ -s "$work/sos.csv" && -s "$work/flood1.csv" ]] || { cat "$work/sos.stdout" "$work/flood1.stdout" >&2; die "a SIPp caller produced no statistics"; }
elapsed="$(awk -v a="$start_ns" -v b="$end_ns" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')"
sum() { # sum NAME: over the flood callers' statistics
  local total=0 v
  for i in $(seq "$flood_callers"); do
    v="$(stat "$1" "$work/flood$i.csv")"
    [[ "$v" =~ ^[0-9]+$ ]] && total=$((total + v))
  done
  echo "$total"
}
flood_attempted="$(sum 'OutgoingCall(C)')"
flood_failed="$(sum 'FailedCall(C)')"
flood_answered="$(stat 'SuccessfulCall(C)' "$work/carrier.csv")"
flood_limited="$(grep -c 'reason="ordinary-call limit reached' "$work/routing.log" || true)"
flood_shed="$(grep -c 'reason="sosproxy overloaded"' "$work/routing.log" || true)"
sos_attempted="$(stat 'OutgoingCall(C)' "$work/sos.csv")"
sos_ok="$(stat 'SuccessfulCall(C)' "$work/sos.csv")"
sos_failed="$(stat 'FailedCall(C)' "$work/sos.csv")"
sos_retrans="$(stat 'Retransmissions(C)' "$work/sos.csv")"
sos_rt=""
for b in '<10' '<20' '<50' '<100' '<500' '>=500'; do
  sos_rt+="$b ms: $(stat "ResponseTimeRepartition1_$b" "$work/sos.csv")  "
done
sos_pct="$(awk -v ok="$sos_ok" -v n="$emergency_calls" 'BEGIN { if (n > 0 && ok ~ /^[0-9]+$/) printf "%.1f", 100 * ok / n; else print "?" }')"
flood_cps="$(awk -v n="$flood_attempted" -v t="$elapsed" 'BEGIN { if (t > 0 && n ~ /^[0-9]+$/) printf "%.0f", n / t; else print "?" }')"

cat <<REPORT
ordinary flood           $flood_attempted INVITEs sent (asked $flood_rate/s, sent about $flood_cps/s)
  answered by carrier    $flood_answered
  refused 503, limit     $flood_limited
  refused 503, overload  $flood_shed
  failed (SIPp: no answer in time, or dropped) $flood_failed
911 stream               $sos_attempted calls (asked $emergency_rate/s)
  completed              $sos_ok of $emergency_calls ($sos_pct%)
  failed                 $sos_failed
  retransmissions        $sos_retrans
  INVITE -> 200          $sos_rt
elapsed seconds          $elapsed
sosproxy CPU seconds     $cpu
sosproxy max RSS         $rss
REPORT
if [[ "$sos_rc" -ne 0 ]]; then
  echo "(some 911 calls failed: see sos.errors in the work directory, kept with --keep)"
fi
exit 0
