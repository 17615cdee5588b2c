#!/usr/bin/env bash
# Load test: sosproxy between a SIPp caller and a SIPp trunk, on loopback, with free ports.
#
#   scripts/load-test.sh [SOSPROXY_BIN] [--rate CPS] [--seconds N] [--transport udp|tcp|tls]
#                        [--emergency] [--sighup-every SECONDS] [--keep]
#
# SOSPROXY_BIN defaults to build/proxy/sosproxy (relative to the repository root). Builds
# nothing. Places rate*seconds calls (INVITE, 200, ACK, BYE, 200) at --rate per second, to the
# carrier trunk, or with --emergency 911 calls to the PSAP trunk il-psap-a, then prints the
# figures. --sighup-every S sends the sosproxy it started a SIGHUP every S seconds (0.5 works)
# while the calls run, so each reloads its configuration under load, and prints how many
# reloads took effect and how many were refused (from /metrics) next to the call figures.
# --transport tls: sosproxy listens for SIP over TLS and every trunk is a TLS trunk, with
# certificates made for the run by openssl; Debian's SIPp has no TLS, so each SIPp speaks TCP
# through a socat that does the TLS (their CPU is printed beside sosproxy's).
# Timing is reported, never judged: the exit status is non-zero only when the run could not be
# done (sosproxy or SIPp would not start, bad arguments).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
scenarios="$root/sipp-scenarios"

bin="$root/build/proxy/sosproxy"
rate=200
seconds=10
transport=udp
emergency=0
sighup_every=""
keep=0

usage() { sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "load-test: $*" >&2; exit 2; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --rate) rate="${2:?--rate needs a value}"; shift 2 ;;
    --seconds) seconds="${2:?--seconds needs a value}"; shift 2 ;;
    --transport) transport="${2:?--transport needs a value}"; shift 2 ;;
    --emergency) emergency=1; shift ;;
    --sighup-every) sighup_every="${2:?--sighup-every needs a value}"; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --*) usage >&2; die "unknown option $1" ;;
    *) bin="$1"; shift ;;
  esac
done
[[ "$rate" =~ ^[0-9]+$ && "$rate" -gt 0 ]] || die "--rate must be a positive integer"
[[ "$seconds" =~ ^[0-9]+$ && "$seconds" -gt 0 ]] || die "--seconds must be a positive integer"
if [[ -n "$sighup_every" ]]; then
  [[ "$sighup_every" =~ ^[0-9]+(\.[0-9]+)?$ && "$sighup_every" =~ [1-9] ]] ||
    die "--sighup-every must be a positive number of seconds"
fi
case "$transport" in
  udp) sipp_t=u1 ;;
  tcp|tls) sipp_t=t1 ;;
  *) die "--transport must be udp, tcp or tls" ;;
esac
[[ -x "$bin" ]] || die "no sosproxy binary at $bin (build it first, or pass its path)"
command -v sipp >/dev/null || die "sipp is not on PATH"

calls=$((rate * seconds))
work="$(mktemp -d "${TMPDIR:-/tmp}/sosproxy-load.XXXXXX")"

# shellcheck source=lib/run.sh
source "$here/lib/run.sh"

proxy_port="$(free_port)"
trunk_port="$(free_port)"
admin_port="$(free_port)"
# The demo enterprise on free ports: a 911 from 1001 is placed at HQ and routed to il-psap-a.
declare -A trunk_ports
if [[ "$emergency" -eq 1 ]]; then
  trunk_ports[il-psap-a]="$trunk_port"; dialed=911
else
  trunk_ports[carrier]="$trunk_port"; dialed=5551234
fi
tls_sets=()
uac_scenario="$scenarios/uac-load-call.xml"
uas_port="$trunk_port"
sipp_target="$proxy_port"
if [[ "$transport" == tls ]]; then
  command -v socat >/dev/null || die "socat is not on PATH (scripts/setup.sh installs it)"
  make_test_certs "$work" sosproxy.test trunk.test
  tls_port="$(free_port)"
  uas_port="$(free_port)"     # the SIPp trunk, behind a socat on trunk_port
  sipp_target="$(free_port)"  # the socat in front of sosproxy's TLS port
  # nta checks that a Via names the transport the request came over: the caller's scenario
  # with TLS in its Via and Contact, as a TLS phone sends them.
  sed -e 's|SIP/2.0/\[transport\]|SIP/2.0/TLS|' -e 's|transport=\[transport\]|transport=tls|' \
    "$scenarios/uac-load-call.xml" >"$work/uac-load-call-tls.xml"
  uac_scenario="$work/uac-load-call-tls.xml"
  tls_sets=(--set "listen.transports=[udp, tcp, tls]"
            --set "listen.tls={port: $tls_port, cert_file: $work/sosproxy.test.crt, key_file: $work/sosproxy.test.key, ca_file: $work/ca.pem}"
            --set "trunks[*].tls_name=trunk.test")
fi
write_demo_config "$bin" "$work/sosproxy.yaml" "$transport" "${tls_sets[@]}"

start_sosproxy "$bin" "$work/sosproxy.yaml"

# Both SIPp runs end by themselves: -m bounds the calls, -timeout the time.
limit=$((seconds * 3 + 60))
start_sipp_uas uas uas-load-answer-any-invite.xml "$uas_port" "$sipp_t" "$calls" "$limit"
uas_pid="$uas_pid_uas"
if [[ "$transport" == tls ]]; then
  start_socat trunk "$trunk_port" \
    "OPENSSL-LISTEN:$trunk_port,bind=127.0.0.1,reuseaddr,fork,verify=0,cert=$work/trunk.test.pem" \
    "TCP:127.0.0.1:$uas_port"
  start_socat caller "$sipp_target" "TCP-LISTEN:$sipp_target,bind=127.0.0.1,reuseaddr,fork" \
    "OPENSSL:127.0.0.1:$tls_port,cafile=$work/ca.pem,commonname=sosproxy.test"
fi

echo "load-test: $calls $( [[ $emergency -eq 1 ]] && echo "911" || echo "ordinary") calls at $rate/s over $transport via sosproxy on 127.0.0.1:$proxy_port"
start_ns="$(date +%s%N)"
set +e
sipp -sf "$uac_scenario" "127.0.0.1:$sipp_target" -i 127.0.0.1 -p "$(free_port)" \
  -t "$sipp_t" -s "$dialed" -r "$rate" -m "$calls" -cp "$(free_port)" -mp "$(free_port)" \
  -nostdin -timeout "${limit}s" -timeout_error -trace_stat -stf "$work/uac.csv" -fd 1 \
  -trace_err -error_file "$work/uac.errors" -max_socket 4096 \
  </dev/null >"$work/uac.stdout" 2>&1 &
uac_pid=$!
pids+=("$uac_pid")
if [[ -n "$sighup_every" ]]; then
  # One line in sighups.sent per SIGHUP, sent while the caller runs.
  : >"$work/sighups.sent"
  (
    while sleep "$sighup_every" && kill -0 "$uac_pid" 2>/dev/null; do
      kill -HUP "$proxy_pid" 2>/dev/null && echo hup >>"$work/sighups.sent"
    done
  ) &
  pids+=("$!")
fi
wait "$uac_pid"
uac_rc=$?
set -e
end_ns="$(date +%s%N)"

# sosproxy's figures, read before it is stopped.
cpu_seconds="$(proxy_cpu_seconds)"
max_rss="$(proxy_max_rss)"
socat_report=""
if [[ "$transport" == tls ]]; then
  socat_report="socat CPU seconds        $(socat_cpu_seconds "$socat_pid_caller") (caller side), $(socat_cpu_seconds "$socat_pid_trunk") (trunk side; SIPp's TLS)"
fi

# The trunk finishes its last calls shortly after the caller; give it a bounded moment.
uas_done() { ! kill -0 "$uas_pid" 2>/dev/null; }
wait_until 15 uas_done || true

reload_report=""
if [[ -n "$sighup_every" ]]; then
  sent="$(wc -l <"$work/sighups.sent")"
  # The last SIGHUP may still be reloading: wait (bounded) until each one is accounted for.
  reloads_done() {
    local ok bad
    ok="$(metric sosproxy_config_reloads_total)"
    bad="$(metric sosproxy_config_reload_failures_total)"
    [[ "$ok" =~ ^[0-9]+$ && "$bad" =~ ^[0-9]+$ && $((ok + bad)) -ge "$sent" ]]
  }
  wait_until 10 reloads_done || true
  reload_report="config reloads           $(metric sosproxy_config_reloads_total) done, $(metric sosproxy_config_reload_failures_total) refused ($sent SIGHUPs sent, one every ${sighup_every} s)"
fi

# The last line of SIPp's statistics CSV holds the cumulative counters.
[[ -s "$work/uac.csv" ]] || { cat "$work/uac.stdout" >&2; die "the SIPp caller produced no statistics (exit $uac_rc)"; }
attempted="$(stat 'OutgoingCall(C)' "$work/uac.csv")"
successful="$(stat 'SuccessfulCall(C)' "$work/uac.csv")"
failed="$(stat 'FailedCall(C)' "$work/uac.csv")"
retrans="$(stat 'Retransmissions(C)' "$work/uac.csv")"
trunk_received="$(stat 'IncomingCall(C)' "$work/uas.csv")"
trunk_successful="$(stat 'SuccessfulCall(C)' "$work/uas.csv")"
trunk_failed="$(stat 'FailedCall(C)' "$work/uas.csv")"
elapsed="$(awk -v a="$start_ns" -v b="$end_ns" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')"
achieved="$(awk -v n="$successful" -v t="$elapsed" 'BEGIN { if (t > 0 && n ~ /^[0-9]+$/) printf "%.1f", n / t; else print "?" }')"

cat <<REPORT
calls attempted          $attempted
calls successful         $successful
calls failed             $failed
retransmissions          $retrans (seen by the caller)
trunk calls received     $trunk_received (successful $trunk_successful, failed $trunk_failed)
${reload_report:+$reload_report
}elapsed seconds          $elapsed
achieved calls/second    $achieved (asked $rate)
sosproxy CPU seconds     $cpu_seconds
${socat_report:+$socat_report
}sosproxy max RSS         $max_rss
REPORT
if [[ "$uac_rc" -ne 0 || "$trunk_failed" != "0" ]]; then
  echo "(some calls failed: see uac.errors and uas.errors in the work directory, kept with --keep)"
fi
exit 0
