#!/usr/bin/env bash
# Emergency calls while strangers flood the SIP edge (issue 14): a private sosproxy on the demo
# enterprise (free loopback ports, trusted_networks 127.0.0.1/32 only, the edge's defaults),
#
#   scripts/edge-flood.sh [SOSPROXY_BIN] [--rate N] [--idle N] [--seconds N]
#                         [--emergency-rate N] [--sos-every K] [--quick] [--keep]
#
# For --seconds (default 10): INVITEs from 127.0.0.2 (untrusted) at --rate a second (default
# 10000; every --sos-every-th to 911, default 100, the rest ordinary), --idle TCP connections
# (default 2000) held open from 127.0.0.3 (untrusted; each one sosproxy closes is opened again),
# and 911 calls from extension 1001 on 127.0.0.1 (trusted) at --emergency-rate (default 10),
# answered by a SIPp PSAP. Prints the 911 calls' completed and failed counts and their set-up
# times (INVITE -> 200, at the caller and inside sosproxy), what the flood got, sosproxy's edge
# counters, CPU seconds and memory. --quick: 3 s at 2000 INVITEs a second and 200 connections
# (about 10 s in all). Reports, never judges: the exit status is non-zero only when the run
# could not be done.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
scenarios="$root/sipp-scenarios"

bin="$root/build/proxy/sosproxy"
rate=10000
idle=2000
seconds=10
emergency_rate=10
sos_every=100
keep=0

usage() { sed -n '2,17p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "edge-flood: $*" >&2; exit 2; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --rate) rate="${2:?--rate needs a value}"; shift 2 ;;
    --idle) idle="${2:?--idle needs a value}"; shift 2 ;;
    --seconds) seconds="${2:?--seconds needs a value}"; shift 2 ;;
    --emergency-rate) emergency_rate="${2:?--emergency-rate needs a value}"; shift 2 ;;
    --sos-every) sos_every="${2:?--sos-every needs a value}"; shift 2 ;;
    --quick) seconds=3; rate=2000; idle=200; emergency_rate=5; shift ;;
    --keep) keep=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --*) usage >&2; die "unknown option $1" ;;
    *) bin="$1"; shift ;;
  esac
done
for v in rate seconds emergency_rate; do
  [[ "${!v}" =~ ^[0-9]+$ && "${!v}" -gt 0 ]] || die "--${v//_/-} must be a positive integer"
done
[[ "$idle" =~ ^[0-9]+$ ]] || die "--idle must be a non-negative integer"
[[ "$sos_every" =~ ^[0-9]+$ ]] || die "--sos-every must be a non-negative integer (0: none)"
[[ -x "$bin" ]] || die "no sosproxy binary at $bin (build it first, or pass its path)"
command -v sipp >/dev/null || die "sipp is not on PATH"
command -v python3 >/dev/null || die "python3 is not on PATH"

work="$(mktemp -d "${TMPDIR:-/tmp}/sosproxy-edge-flood.XXXXXX")"
# shellcheck source=lib/run.sh
source "$here/lib/run.sh"

emergency_calls=$((emergency_rate * seconds))
proxy_port="$(free_port)"; carrier_port="$(free_port)"; psap_a_port="$(free_port)"
psap_b_port="$(free_port)"; erc_port="$(free_port)"; uk_port="$(free_port)"
admin_port="$(free_port)"

cat > "$work/sosproxy.yaml" <<YAML
# Written by scripts/edge-flood.sh: the demo enterprise on free ports; only 127.0.0.1 is trusted,
# so 127.0.0.2 and 127.0.0.3 are strangers. The edge keeps its defaults.
listen: {address: 127.0.0.1, port: $proxy_port, transports: [udp, tcp]}
trusted_networks: [127.0.0.1/32]
carrier_trunk: carrier
trunks:
  - {name: carrier, host: 127.0.0.1, port: $carrier_port, transport: udp, mode: plain}
  - {name: il-psap-a, host: 127.0.0.1, port: $psap_a_port, transport: udp, mode: pidf}
  - {name: il-psap-b, host: 127.0.0.1, port: $psap_b_port, transport: udp, mode: elin}
  - {name: erc, host: 127.0.0.1, port: $erc_port, transport: udp, mode: both}
  - {name: uk-999, host: 127.0.0.1, port: $uk_port, transport: udp, mode: elin}
sites:
  - {name: HQ, country: US, dial_strings: ["911"], outside_line_prefix: "9", extensions: ["1*"],
     networks: [10.1.0.0/16], psap_route: [il-psap-a, il-psap-b, erc]}
  - {name: London, country: GB, dial_strings: ["999", "112"], extensions: ["2*"],
     networks: [10.44.0.0/16], psap_route: [uk-999, erc]}
emergency_routing:
  erc: erc
  civic_rules:
    - {match: {country: US, A1: IL}, route: [il-psap-a, il-psap-b]}
store:
  seed: "$root/config/examples/demo-locations.yaml"
admin: {address: 127.0.0.1, port: $admin_port}
logging: {level: warn, format: text, routing_log: "$work/routing.log"}
YAML

start_sosproxy "$bin" "$work/sosproxy.yaml"
limit_s=$((seconds * 3 + 60))
start_sipp_uas psap uas-load-answer-any-invite.xml "$psap_a_port" u1 "$emergency_calls" "$limit_s"

echo "edge-flood: $rate INVITEs/s from 127.0.0.2 (untrusted; every ${sos_every/#0/no}th to 911), $idle idle TCP connections held from 127.0.0.3 (untrusted), $emergency_calls 911 calls at $emergency_rate/s from 127.0.0.1 (trusted), for $seconds s, via sosproxy on 127.0.0.1:$proxy_port"
set +e
python3 "$here/lib/edge_flood.py" idle --target "127.0.0.1:$proxy_port" --source 127.0.0.3 \
  --connections "$idle" --seconds "$((seconds + 1))" >"$work/idle.out" 2>&1 &
idle_pid=$!
pids+=("$idle_pid")
python3 "$here/lib/edge_flood.py" invites --target "127.0.0.1:$proxy_port" --source 127.0.0.2 \
  --rate "$rate" --seconds "$seconds" --sos-every "$sos_every" >"$work/invites.out" 2>&1 &
flood_pid=$!
pids+=("$flood_pid")
# In the work directory: SIPp writes its -trace_rtt file where it runs.
(cd "$work" && exec sipp -sf "$scenarios/uac-load-call.xml" "127.0.0.1:$proxy_port" -i 127.0.0.1 \
  -p "$(free_port)" -t u1 -s 911 -r "$emergency_rate" -m "$emergency_calls" -cp "$(free_port)" \
  -mp "$(free_port)" -nostdin -timeout "${limit_s}s" -timeout_error -trace_stat \
  -stf "$work/sos.csv" -fd 1 -trace_rtt -rtt_freq 1 -trace_err -error_file "$work/sos.errors" \
  -max_socket 4096 </dev/null >"$work/sos.stdout" 2>&1) &
sos_pid=$!
pids+=("$sos_pid")
wait "$sos_pid"; sos_rc=$?
wait "$flood_pid"; flood_rc=$?
wait "$idle_pid"; idle_rc=$?
set -e
cpu="$(proxy_cpu_seconds)"
rss="$(proxy_max_rss)"
rss_now="$(awk '/^VmRSS:/ { print $2 " " $3 }' "/proc/$proxy_pid/status" 2>/dev/null || echo "?")"
[[ "$flood_rc" -eq 0 ]] || { cat "$work/invites.out" >&2; die "the INVITE flood could not run"; }
[[ "$idle_rc" -eq 0 ]] || { cat "$work/idle.out" >&2; die "the idle connections could not be held"; }
[[ -s "$work/sos.csv" ]] || { cat "$work/sos.stdout" >&2; die "the 911 caller produced no statistics"; }

field() { tr ' ' '\n' <"$1" | awk -F= -v k="$2" '$1 == k { print $2 }'; }
sos_ok="$(stat 'SuccessfulCall(C)' "$work/sos.csv")"
sos_failed="$(stat 'FailedCall(C)' "$work/sos.csv")"
sos_retrans="$(stat 'Retransmissions(C)' "$work/sos.csv")"
# INVITE -> 200 at the caller (SIPp -trace_rtt, whole milliseconds) and inside sosproxy (the
# routing log's duration_ms of each answered 911).
caller_rtt="$(awk -F';' 'NR > 1 && $3 == 1 { print $2 }' "$work"/*_rtt.csv 2>/dev/null | sort -n |
  awk '{ v[NR] = $1 } END { if (NR == 0) { print "?"; exit }
       printf "min %s, p50 %s, p90 %s, p99 %s, max %s ms", v[1], v[int(NR*.5) ? int(NR*.5) : 1],
              v[int(NR*.9) ? int(NR*.9) : 1], v[int(NR*.99) ? int(NR*.99) : 1], v[NR] }')"
proxy_rtt="$(grep ' event=final ' "$work/routing.log" 2>/dev/null | grep ' outcome=answered ' |
  grep -o 'duration_ms=[0-9.]*' | cut -d= -f2 | sort -g |
  awk '{ v[NR] = $1 } END { if (NR == 0) { print "?"; exit }
       printf "min %.2f, p50 %.2f, p90 %.2f, p99 %.2f, max %.2f ms (%d calls)", v[1],
              v[int(NR*.5) ? int(NR*.5) : 1], v[int(NR*.9) ? int(NR*.9) : 1],
              v[int(NR*.99) ? int(NR*.99) : 1], v[NR], NR }')"
log_lines="$(wc -l <"$work/sosproxy.stderr" | tr -d ' ')"

cat <<REPORT
911 calls (trusted)      $emergency_calls asked at $emergency_rate/s
  completed              $sos_ok
  failed                 $sos_failed
  retransmissions        $sos_retrans
  INVITE -> 200, caller  $caller_rtt
  INVITE -> 200, inside  $proxy_rtt
INVITE flood (127.0.0.2) $(field "$work/invites.out" sent) sent in $(field "$work/invites.out" seconds) s (asked $rate/s, sent $(field "$work/invites.out" rate)/s), answers received: $(field "$work/invites.out" answers)
idle TCP (127.0.0.3)     asked $idle held: opened $(field "$work/idle.out" opened), closed by sosproxy $(field "$work/idle.out" closed_by_peer), held on average $(field "$work/idle.out" open_avg), at the end $(field "$work/idle.out" open_at_end)
sosproxy edge            refused 403 $(metric sosproxy_edge_untrusted_refused_total), dropped $(metric sosproxy_edge_untrusted_dropped_total), untrusted 911 (ALARM) $(metric sosproxy_edge_untrusted_emergency_total), alerts $(metric sosproxy_edge_untrusted_alerts_total)
                         TCP connections closed (untrusted) $(metric sosproxy_edge_tcp_closed_untrusted_total), open now $(metric sosproxy_tcp_connections), server transactions now $(metric sosproxy_server_transactions), descriptor limit $(metric sosproxy_descriptor_limit)
sosproxy CPU seconds     $cpu
sosproxy memory          max RSS $rss, RSS now $rss_now
operational log lines    $log_lines (warnings and errors, each cause at most once per interval)
REPORT
if [[ "$sos_rc" -ne 0 ]]; then
  echo "(some 911 calls failed: see sos.errors in the work directory, kept with --keep)"
fi
exit 0
