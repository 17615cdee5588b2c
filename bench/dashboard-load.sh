#!/usr/bin/env bash
# Does the dashboard slow down call set-up? (issue 18, must-show 4)
#
#   bench/dashboard-load.sh [SOSPROXY_BIN] [--rate R] [--seconds N] [--pin] [--keep]
#
# Five runs, each a fresh sosproxy on the demo enterprise and fresh SIPp peers on loopback: R 911
# calls a second (default 500) for N seconds (default 20) from bench/uac-e911.xml with the
# callers of bench/callers.csv, answered by bench/uas-answer.xml on the PSAP trunk il-psap-a.
#   no page    nobody follows the dashboard
#   stream     curl follows the live calls' stream (/api/v1/events, Server-Sent Events) with a
#              super-admin's token: all of sosproxy's work for a dashboard, no browser
#   page idle  headless Chromium holds /dashboard open (as below) under SCHED_IDLE (chrt --idle):
#              it runs only on a CPU that nothing else wants at that moment, and a waking SIPp or
#              sosproxy takes the CPU from it at once, the nearest this machine comes to the
#              browser on the safety desk's own computer
#   page nice  the same at nice 19: a lower share of the CPUs, but no such priority on waking
#   page open  headless Chromium holds /dashboard open, signed in as a super-admin, its live
#              calls connected (Server-Sent Events) and updating with every call, for the whole
#              run (tests/browser/dashboard_test.py, scenario "hold"), at the same priority as
#              sosproxy: on a machine of 2 CPUs it competes with sosproxy and SIPp for them
# It then prints, side by side, the time sosproxy adds to each INVITE (its INVITE in -> the
# INVITE toward the trunk out) from its own histogram in /metrics (sosproxy_invite_added_seconds:
# p50 and p99 interpolated within its buckets, and the mean from its sum), with the calls
# answered and failed, the events the live calls took (sosproxy_dashboard_call_events_total,
# taken whether a page follows or not) and the messages a page could not take in time
# (sosproxy_dashboard_messages_dropped_total: it got a fresh snapshot instead).
# --pin gives sosproxy (all its threads) CPU 0 and everything else (SIPp, curl, Chromium) CPU 1
# in every run, as when the browser runs on another computer and the load comes from the network.
# SOSPROXY_BIN defaults to build/proxy/sosproxy. Installs and builds nothing. Reports, never
# judges: the exit status is non-zero only when a run could not be done (a missing program, a
# process that did not start).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

bin="$root/build/proxy/sosproxy"
rate=500
seconds=20
keep=0
pin=0

usage() { sed -n '2,31p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "dashboard-load: $*" >&2; exit 2; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --rate) rate="${2:?--rate needs a value}"; shift 2 ;;
    --seconds) seconds="${2:?--seconds needs a value}"; shift 2 ;;
    --keep) keep=1; shift ;;
    --pin) pin=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --*) usage >&2; die "unknown option $1" ;;
    *) bin="$1"; shift ;;
  esac
done
[[ "$rate" =~ ^[0-9]+$ && "$rate" -gt 0 ]] || die "--rate must be a positive integer"
[[ "$seconds" =~ ^[0-9]+$ && "$seconds" -gt 0 ]] || die "--seconds must be a positive integer"
[[ -x "$bin" ]] || die "no sosproxy binary at $bin (build it first, or pass its path)"
command -v sipp >/dev/null || die "sipp is not on PATH"
for p in /usr/bin/chromium /usr/bin/chromedriver; do
  [[ -x "$p" ]] || die "$p is missing (scripts/setup.sh installs chromium and chromium-driver)"
done

work="$(mktemp -d "${TMPDIR:-/tmp}/sosproxy-dashboard-load.XXXXXX")"
# shellcheck source=../scripts/lib/run.sh
source "$root/scripts/lib/run.sh"
# shellcheck source=lib.sh
source "$here/lib.sh"

# histogram_figures METRICS_FILE NAME: "p50 p99 mean count" in milliseconds of a Prometheus
# histogram in seconds (each percentile interpolated linearly within its bucket).
histogram_figures() {
  awk -v name="$2" '
    index($0, name "_bucket{le=\"") == 1 {
      le = $0; sub(/^[^"]*"/, "", le); sub(/".*$/, "", le)
      n++; bound[n] = (le == "+Inf") ? -1 : le * 1000; below[n] = $2
    }
    $1 == name "_sum" { sum = $2 * 1000 }
    $1 == name "_count" { count = $2 }
    function pct(q,   target, i, lo, prev) {
      target = q * count; lo = 0; prev = 0
      for (i = 1; i <= n; i++) {
        if (below[i] >= target) {
          if (bound[i] < 0) return lo "+"
          if (below[i] == prev) return bound[i]
          return sprintf("%.3f", lo + (bound[i] - lo) * (target - prev) / (below[i] - prev))
        }
        lo = bound[i]; prev = below[i]
      }
      return "?"
    }
    END {
      if (count == 0) { print "? ? ? 0"; exit }
      printf "%s %s %.3f %d\n", pct(0.50), pct(0.99), sum / count, count
    }' "$1"
}

# run_once NAME: one run (nopage, stream, pageidle, pagenice or page); sets its figures in fig_NAME.
run_once() {
  local name="$1" dir calls limit proxy_port uas_port admin_port token
  local p3 p4 p5 uac_pid holder_pid="" rc
  dir="$work/$name"
  mkdir -p "$dir"
  calls=$((rate * seconds))
  limit=$((seconds * 3 + 30))
  proxy_port="$(free_port)"; uas_port="$(free_port)"; admin_port="$(free_port)"
  write_sosproxy_config "$dir/demo.yaml" "$proxy_port" "$(free_port)" "$uas_port" "$admin_port"
  # Every run keeps the demo in a database (the dashboard's token must be kept somewhere), so that
  # the page is the only difference between them.
  "$bin" print-config "$dir/demo.yaml" --set "store.path=$dir/sos.db" >"$dir/sosproxy.yaml" ||
    die "could not give the run a database"
  "$bin" token create --config "$dir/sosproxy.yaml" --name bench --role super-admin \
    >"$dir/token" 2>"$dir/token.err" || { cat "$dir/token.err" >&2; die "no token made"; }
  token="$(cat "$dir/token")"
  start_sosproxy "$bin" "$dir/sosproxy.yaml"
  [[ "$pin" -eq 1 ]] && { taskset -a -p -c 0 "$proxy_pid" >/dev/null || die "taskset failed"; }
  start_answerer "$dir" "$uas_port" "$calls" "$limit"

  if [[ "$name" == stream ]]; then
    curl -sN -H "Authorization: Bearer $token" "http://127.0.0.1:$admin_port/api/v1/events" \
      </dev/null >"$dir/stream.txt" 2>"$dir/stream.err" &
    holder_pid=$!
    pids+=("$holder_pid")
    stream_ready() { [[ -s "$dir/stream.txt" ]] || ! kill -0 "$holder_pid" 2>/dev/null; }
    wait_until 30 stream_ready && [[ -s "$dir/stream.txt" ]] || die "the live stream did not open"
  elif [[ "$name" == page* ]]; then
    local priority=(nice -n 0)
    [[ "$name" == pagenice ]] && priority=(nice -n 19)
    [[ "$name" == pageidle ]] && priority=(chrt --idle 0)
    mkdir -p "$dir/browser"
    "${priority[@]}" python3 "$root/tests/browser/dashboard_test.py" --url "http://127.0.0.1:$admin_port" \
      --token "$token" --out "$dir/browser" hold </dev/null >"$dir/browser.out" 2>&1 &
    holder_pid=$!
    pids+=("$holder_pid")
    page_ready() { [[ -f "$dir/browser/ready" ]] || ! kill -0 "$holder_pid" 2>/dev/null; }
    if ! wait_until 60 page_ready || [[ ! -f "$dir/browser/ready" ]]; then
      cat "$dir/browser.out" >&2
      die "the dashboard did not open"
    fi
  fi

  p3="$(free_port)"; p4="$(free_port)"; p5="$(media_port)"
  ( cd "$dir" && exec sipp -sf "$here/uac-e911.xml" -inf "$here/callers.csv" \
      "127.0.0.1:$proxy_port" -i 127.0.0.1 -p "$p3" -t u1 -s 911 -r "$rate" -m "$calls" \
      -cp "$p4" -mp "$p5" -nostdin -timeout "${limit}s" -timeout_error -buff_size 4194304 \
      -max_socket 4096 -trace_stat -stf "$dir/uac.csv" -fd 1 -trace_err \
      -error_file "$dir/uac.errors" </dev/null >"$dir/uac.stdout" 2>&1 ) &
  uac_pid=$!
  pids+=("$uac_pid")
  rc=0
  wait "$uac_pid" || rc=$?

  metrics >"$dir/metrics.txt" || die "no /metrics from sosproxy"
  if [[ "$name" == stream ]]; then
    stop_pid "$holder_pid"
  elif [[ -n "$holder_pid" ]]; then
    echo stop >"$dir/browser/stop.part" && mv "$dir/browser/stop.part" "$dir/browser/stop"
    wait "$holder_pid" || true
  fi
  local figures ok failed events dropped streams page_said
  figures="$(histogram_figures "$dir/metrics.txt" sosproxy_invite_added_seconds)"
  ok="$(stat "SuccessfulCall(C)" "$dir/uac.csv")"
  failed="$(stat "FailedCall(C)" "$dir/uac.csv")"
  events="$(awk '$1 == "sosproxy_dashboard_call_events_total" { print $2 }' "$dir/metrics.txt")"
  dropped="$(awk '$1 == "sosproxy_dashboard_messages_dropped_total" { print $2 }' "$dir/metrics.txt")"
  streams="$(awk '$1 == "sosproxy_dashboard_streams" { print $2 }' "$dir/metrics.txt")"
  page_said="$(grep -h 'stayed live\|FAILED' "$dir/browser.out" 2>/dev/null | tail -1 || true)"
  [[ "$name" == stream ]] &&
    page_said="curl took $(wc -c <"$dir/stream.txt") bytes in $(grep -c '^data:' "$dir/stream.txt") messages"
  printf -v "fig_$name" '%s|%s|%s|%s|%s|%s|%s|%s' "$figures" "${ok:-?}" "${failed:-?}" \
    "${events:-?}" "${dropped:-?}" "${streams:-?}" "$rc" "${page_said:--}"
  stop_pid "$uas_pid"
  stop_pid "$proxy_pid"
}

pinned=""
cpus="$(nproc)"
if [[ "$pin" -eq 1 ]]; then
  [[ "$cpus" -ge 2 ]] || die "--pin needs 2 CPUs"
  taskset -p -c 1 $$ >/dev/null || die "taskset failed"  # what this script starts inherits it
  pinned=", sosproxy on CPU 0, the rest on CPU 1"
fi
echo "dashboard-load: $((rate * seconds)) 911 calls at $rate/s per run, $cpus CPUs$pinned, $(date -u +%FT%TZ)"
for name in nopage stream pageidle pagenice page; do run_once "$name"; done

printf '\n%-10s %10s %10s %10s %8s %8s %7s %13s %9s\n' run "p50 ms" "p99 ms" "mean ms" \
  invites answered failed "live events" "dropped"
for name in nopage stream pageidle pagenice page; do
  v="fig_$name"
  IFS='|' read -r figures ok failed events dropped streams rc page_said <<<"${!v}"
  read -r p50 p99 mean count <<<"$figures"
  case "$name" in
    nopage) label="no page" ;; stream) label="stream" ;; pageidle) label="page idle" ;;
    pagenice) label="page nice" ;;
    *) label="page open" ;;
  esac
  printf '%-10s %10s %10s %10s %8s %8s %7s %13s %9s\n' "$label" "$p50" "$p99" "$mean" "$count" \
    "$ok" "$failed" "$events" "$dropped"
  [[ "$name" == stream ]] && echo "           the stream: $page_said"
  [[ "$name" == page* ]] && echo "           the page: $page_said (dashboards following at the end: $streams)"
  [[ "$rc" -ne 0 ]] && echo "           SIPp's caller ended with status $rc (calls failed or timed out)"
done
echo "(sosproxy_invite_added_seconds: INVITE in -> INVITE toward the PSAP trunk out; p50/p99"
echo " interpolated within its buckets 0.25/0.5/1/2/5/10 ms ...; the mean from its sum)"
