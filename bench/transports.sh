#!/usr/bin/env bash
# 911 calls over UDP, TCP and TLS side by side: scripts/load-test.sh --emergency for each
# transport at each rate, every run a fresh sosproxy and fresh SIPp peers, then one table.
#
#   bench/transports.sh [SOSPROXY_BIN] [--rates "300 1000"] [--seconds N]
#
# For each transport and rate it prints the calls/s achieved, the failed calls, the
# retransmissions and sosproxy's CPU microseconds per call. Over TLS each SIPp speaks TCP
# through a socat that does the TLS (Debian's SIPp has none): the socats' CPU is printed on its
# own and not counted in sosproxy's. Figures, never a verdict: the exit status is non-zero only
# when a run could not be done.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
bin="$root/build/proxy/sosproxy"
rates="300 1000"
seconds=20

while [[ $# -gt 0 ]]; do
  case "$1" in
    --rates) rates="${2:?--rates needs a value}"; shift 2 ;;
    --seconds) seconds="${2:?--seconds needs a value}"; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    --*) echo "transports: unknown option $1" >&2; exit 2 ;;
    *) bin="$1"; shift ;;
  esac
done

field() { awk -v k="$1" 'index($0, k) == 1 { sub("^" k " *", ""); print; exit }' "$2"; }
out="$(mktemp "${TMPDIR:-/tmp}/sosproxy-transports.XXXXXX")"
trap 'rm -f "$out"' EXIT

printf '%-9s %6s %10s %8s %8s %14s  %s\n' transport rate "calls/s" failed retrans "CPU us/call" "socat CPU s"
for rate in $rates; do
  for transport in udp tcp tls; do
    "$root/scripts/load-test.sh" "$bin" --emergency --transport "$transport" --rate "$rate" \
      --seconds "$seconds" >"$out" 2>&1 || { cat "$out" >&2; exit 1; }
    achieved="$(field 'achieved calls/second' "$out" | awk '{ print $1 }')"
    successful="$(field 'calls successful' "$out")"
    failed="$(field 'calls failed' "$out")"
    retrans="$(field 'retransmissions' "$out" | awk '{ print $1 }')"
    cpu="$(field 'sosproxy CPU seconds' "$out")"
    socat="$(field 'socat CPU seconds' "$out" | awk '{ print $1 "+" $4 }')"
    per_call="$(awk -v c="$cpu" -v n="$successful" 'BEGIN { if (n > 0) printf "%.0f", c * 1e6 / n; else print "?" }')"
    printf '%-9s %6s %10s %8s %8s %14s  %s\n' "$transport" "$rate" "$achieved" "$failed" "$retrans" \
      "$per_call" "${socat:--}"
  done
done
