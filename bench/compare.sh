#!/usr/bin/env bash
# sosproxy side by side with Kamailio and with SIPp alone, on loopback, with free ports.
#
#   bench/compare.sh [SOSPROXY_BIN] [--quick] [--seconds N] [--warmup N] [--rates "R1 R2 ..."]
#                    [--bisect N] [--cpu-rate R] [--cpu-repeat N] [--series "S1 S2 ..."]
#                    [--kamailio-children N]
#                    [--kamailio-shm MB] [--overload F] [--set PATH=VALUE] [--keep]
#
# Eight series. First, for the figure that travels between machines (CPU microseconds per call),
# every series runs one step at --cpu-rate (default 300 calls/s, a rate neither side is loaded
# at; 0 leaves it out), the series taking turns, and that round is made --cpu-repeat times
# (default 3): the median of each series' steps is its figure, so a slow minute of the machine
# falls on every series alike. Then each series runs a ramp over --rates (calls per second;
# default "400 800 1200 1600 2000 2400 2800 3200") that stops at the first rate where a call
# fails, then --bisect more steps (default 2)
# halving the gap between the last rate that passed and the first that failed. Every step is a
# fresh process under test and fresh SIPp peers, placing rate * (--warmup + --seconds) calls
# (default 10 s of warm-up, then a 30 s window, as the Kamailio anchor measures) from
# bench/uac-e911.xml with the callers of bench/callers.csv, answered by bench/uas-answer.xml (200,
# then the BYE); CPU is counted over the window only:
#   sipp-direct   SIPp caller straight to the SIPp answerer (the load generator's own ceiling)
#   kam-e911      911 through Kamailio with bench/kamailio/kamailio.cfg (ELIN, PIDF-LO, relay)
#   sos-e911      911 through sosproxy on the demo enterprise (located by BSSID or subnet,
#                 PIDF-LO built, routed to the PSAP trunk il-psap-a, answered, BYE), relayed
#                 as a transaction-stateful proxy, sosproxy's leanest setting: both relays on
#                 (edge.emergency_relay: stateful, edge.ordinary_relay: stateless; with both,
#                 the SIP thread allocates through a thread cache, proxy/allocator.h)
#   sos-e911-b2bua  the same through the B2BUA (both settings at their default, b2bua)
#   kam-plain     an ordinary number through Kamailio (relayed unchanged)
#   sos-plain     an ordinary number through sosproxy to the carrier trunk, relayed without
#                 state, with the leanest setting as sos-e911
#   sos-plain-b2bua  the same through the B2BUA (both settings at their default, b2bua)
#   sos-e911-pg   sos-e911 (the relay) with store.backend postgresql: a scratch server of scripts/pg-local.sh
#                 for the whole run, on the same machine (each step a fresh sosproxy on it)
# --quick: --cpu-rate 100 once and rate 400, 2 s each with no warm-up, no bisection (what CI
# runs, so the harness cannot rot). --series: only these of the eight (e.g. "sos-e911 sos-plain"
# to compare two sosproxy builds).
# --overload F: after the ramp, one more step of each 911 series at F times the limit it found
# (default 1.5; 0: none), printing the calls it completed per second within the window (past the
# limit SIPp finishes long after its last new call), the failed calls and the retransmissions.
# --set PATH=VALUE: a setting of sosproxy's configuration for every sosproxy step (repeatable;
# e.g. --set limits.udp_invite_gate=false to measure without the INVITE gate).
# --kamailio-children: Kamailio's UDP workers (-n, default 1: its best on 2 cores in the anchor's
# measurements); --kamailio-shm: its shared memory (-m, default 1024 MB, the anchor's; -M 16 MB
# private memory per process). SOSPROXY_BIN defaults to build/proxy/sosproxy. Installs and builds
# nothing; a missing kamailio prints its series as "not installed". Reports, never judges: the
# exit status is non-zero only when the run could not be done.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"

bin="$root/build/proxy/sosproxy"
rates="400 800 1200 1600 2000 2400 2800 3200"
seconds=30
warmup=10
cpu_rate=300
kam_shm=1024
bisect=2
quick=0
kam_children=1
keep=0
rates_given=0
only_series=""
bisect_given=0
seconds_given=0
warmup_given=0
cpu_rate_given=0
cpu_repeat=3
cpu_repeat_given=0
overload=1.5
sos_sets=()

usage() { sed -n '2,43p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "compare: $*" >&2; exit 2; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --quick) quick=1; shift ;;
    --seconds) seconds="${2:?--seconds needs a value}"; seconds_given=1; shift 2 ;;
    --warmup) warmup="${2:?--warmup needs a value}"; warmup_given=1; shift 2 ;;
    --cpu-rate) cpu_rate="${2:?--cpu-rate needs a value}"; cpu_rate_given=1; shift 2 ;;
    --cpu-repeat) cpu_repeat="${2:?--cpu-repeat needs a value}"; cpu_repeat_given=1; shift 2 ;;
    --kamailio-shm) kam_shm="${2:?--kamailio-shm needs a value}"; shift 2 ;;
    --rates) rates="${2:?--rates needs a value}"; rates_given=1; shift 2 ;;
    --series) only_series="${2:?--series needs a value}"; shift 2 ;;
    --bisect) bisect="${2:?--bisect needs a value}"; bisect_given=1; shift 2 ;;
    --kamailio-children) kam_children="${2:?--kamailio-children needs a value}"; shift 2 ;;
    --overload) overload="${2:?--overload needs a value}"; shift 2 ;;
    --set) sos_sets+=("${2:?--set needs PATH=VALUE}"); shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage; exit 0 ;;
    --*) usage >&2; die "unknown option $1" ;;
    *) bin="$1"; shift ;;
  esac
done
if [[ "$quick" -eq 1 ]]; then
  [[ "$rates_given" -eq 1 ]] || rates="400"
  [[ "$seconds_given" -eq 1 ]] || seconds=2
  [[ "$warmup_given" -eq 1 ]] || warmup=0
  [[ "$cpu_rate_given" -eq 1 ]] || cpu_rate=100
  [[ "$cpu_repeat_given" -eq 1 ]] || cpu_repeat=1
  [[ "$bisect_given" -eq 1 ]] || bisect=0
  overload=0
fi
[[ "$seconds" =~ ^[0-9]+$ && "$seconds" -gt 0 ]] || die "--seconds must be a positive integer"
[[ "$warmup" =~ ^[0-9]+$ ]] || die "--warmup must be a number of seconds (0 or more)"
[[ "$cpu_rate" =~ ^[0-9]+$ ]] || die "--cpu-rate must be a number of calls per second (0: none)"
[[ "$cpu_repeat" =~ ^[0-9]+$ && "$cpu_repeat" -gt 0 ]] || die "--cpu-repeat must be a positive number of rounds"
[[ "$kam_shm" =~ ^[0-9]+$ && "$kam_shm" -gt 0 ]] || die "--kamailio-shm must be a positive number of MB"
[[ "$overload" =~ ^[0-9]+(\.[0-9]+)?$ ]] || die "--overload must be a factor (e.g. 1.5; 0: none)"
[[ "$bisect" =~ ^[0-9]+$ ]] || die "--bisect must be a number of steps (0 or more)"
[[ "$kam_children" =~ ^[0-9]+$ && "$kam_children" -gt 0 ]] || die "--kamailio-children must be a positive integer"
for r in $rates; do [[ "$r" =~ ^[0-9]+$ && "$r" -gt 0 ]] || die "--rates must be positive integers"; done
[[ -n "${rates// /}" ]] || die "--rates is empty"
[[ -x "$bin" ]] || die "no sosproxy binary at $bin (build it first, or pass its path)"
command -v sipp >/dev/null || die "sipp is not on PATH"
have_kamailio=0
command -v kamailio >/dev/null && have_kamailio=1
have_postgresql=0
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null && have_postgresql=1
# The scratch PostgreSQL server of sos-e911-pg, started at its first step, stopped on the way out.
pg_dir=""
pg_url=""
step_sets=()
# shellcheck disable=SC2317  # called by cleanup (scripts/lib/run.sh) on the way out
cleanup_more() {
  [[ -n "$pg_dir" ]] || return 0
  "$root/scripts/pg-local.sh" stop "$pg_dir" >/dev/null 2>&1 || true
  rm -rf "$pg_dir"
}

work="$(mktemp -d "${TMPDIR:-/tmp}/sosproxy-compare.XXXXXX")"
# shellcheck source=../scripts/lib/run.sh
source "$root/scripts/lib/run.sh"
# shellcheck source=lib.sh
source "$here/lib.sh"

hz="$(getconf CLK_TCK)"

# The process and its direct children (Kamailio forks its workers).
tree() { echo "$1"; ps -o pid= --ppid "$1" 2>/dev/null | tr -d ' ' || true; }
# ticks PID...: utime + stime, summed.
ticks() {
  local t=0 v p
  for p in "$@"; do
    v="$(awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$p/stat" 2>/dev/null || echo 0)"
    t=$((t + ${v:-0}))
  done
  echo "$t"
}
# peak_rss_kb PID...: the largest VmHWM among them.
peak_rss_kb() {
  local m=0 v p
  for p in "$@"; do
    v="$(awk '/^VmHWM:/ { print $2 }' "/proc/$p/status" 2>/dev/null || echo 0)"
    [[ "${v:-0}" -gt "$m" ]] && m="$v"
  done
  echo "$m"
}
# percentiles FILE: p50/p90/p99 of SIPp's -trace_rtt response times, rounded to whole milliseconds
# (SIPp writes some with a fraction, e.g. 335.999).
percentiles() {
  local f
  f="$(ls "$1"/*_rtt.csv 2>/dev/null | head -1)"
  [[ -n "$f" ]] || { echo "?/?/?"; return; }
  awk -F';' 'NR > 1 && $3 == 1 { print $2 }' "$f" | sort -n |
    awk '{ v[NR] = $1 } END {
           if (NR == 0) { print "?/?/?"; exit }
           i50 = int(NR * 0.50); if (i50 < 1) i50 = 1
           i90 = int(NR * 0.90); if (i90 < 1) i90 = 1
           i99 = int(NR * 0.99); if (i99 < 1) i99 = 1
           printf "%.0f/%.0f/%.0f", v[i50], v[i90], v[i99] }'
}

# added_percentiles ROUTING_LOG: p50/p90/p99 of added_ms, sosproxy's own INVITE in -> INVITE out
# time per call in its routing log.
added_percentiles() {
  grep -o ' event=route .* added_ms=[0-9.]*' "$1" 2>/dev/null | sed 's/.*added_ms=//' | sort -g |
    awk '{ v[NR] = $1 } END {
           if (NR == 0) { print "?/?/?"; exit }
           i50 = int(NR * 0.50); if (i50 < 1) i50 = 1
           i90 = int(NR * 0.90); if (i90 < 1) i90 = 1
           i99 = int(NR * 0.99); if (i99 < 1) i99 = 1
           printf "%s/%s/%s", v[i50], v[i90], v[i99] }'
}

# run_step SERIES RATE: one step; prints its line, sets step_* and returns 0 when no call failed.
run_step() {
  local series="$1" rate="$2" kind dial target calls dir uas_port uac_pid uas_pid rc
  local tpid="" tpids=() t0 t1 start_ns end_ns limit
  kind="${series%%-*}"
  case "$series" in *-plain|*-plain-b2bua) dial=5551234 ;; *) dial=911 ;; esac
  calls=$((rate * (warmup + seconds)))
  limit=$(((warmup + seconds) * 3 + 30))
  step_no=$((step_no + 1))
  dir="$work/$(printf '%03d' "$step_no")-$series-$rate"
  mkdir -p "$dir"
  uas_port="$(free_port)"

  case "$kind" in
    sipp) target="127.0.0.1:$uas_port" ;;
    kam)
      local kp; kp="$(free_port)"
      sed -e "s/127\.0\.0\.1:5070/127.0.0.1:$kp/g" \
          -e "s/^#!define UAS_ADDR .*/#!define UAS_ADDR \"127.0.0.1:$uas_port\"/" \
          "$here/kamailio/kamailio.cfg" > "$dir/kamailio.cfg"
      kamailio -f "$dir/kamailio.cfg" -DD -E -m "$kam_shm" -M 16 -n "$kam_children" \
        -P "$dir/kamailio.pid" </dev/null >"$dir/kamailio.log" 2>&1 &
      tpid=$!
      pids+=("$tpid")
      kam_ready() { { grep -q 'htable preloaded' "$dir/kamailio.log" && port_bound "$kp"; } || ! kill -0 "$tpid" 2>/dev/null; }
      if ! wait_until 20 kam_ready || ! kill -0 "$tpid" 2>/dev/null; then
        tail -20 "$dir/kamailio.log" >&2
        die "kamailio did not start"
      fi
      target="127.0.0.1:$kp" ;;
    sos)
      local sp; sp="$(free_port)"
      step_sets=()
      if [[ "$series" == sos-e911-pg ]]; then
        if [[ -z "$pg_url" ]]; then
          pg_dir="$(mktemp -d /tmp/sosproxy-compare-pg.XXXXXX)"
          pg_url="$("$root/scripts/pg-local.sh" start "$pg_dir" 2>"$pg_dir.log")" ||
            { cat "$pg_dir.log" >&2; die "the scratch PostgreSQL server did not start"; }
          rm -f "$pg_dir.log"
        fi
        step_sets=("store.backend=postgresql" "store.postgresql=$pg_url"
                   "edge.emergency_relay=stateful" "edge.ordinary_relay=stateless")
      fi
      # Ordinary calls: sosproxy's leanest setting for them (as Kamailio gets its best), and the
      # B2BUA's, which keeps each call's state.
      [[ "$series" == sos-plain ]] &&
        step_sets=("edge.ordinary_relay=stateless" "edge.emergency_relay=stateful")
      [[ "$series" == sos-plain-b2bua ]] &&
        step_sets=("edge.ordinary_relay=b2bua" "edge.emergency_relay=b2bua")
      [[ "$series" == sos-e911 ]] &&
        step_sets=("edge.emergency_relay=stateful" "edge.ordinary_relay=stateless")
      [[ "$series" == sos-e911-b2bua ]] &&
        step_sets=("edge.emergency_relay=b2bua" "edge.ordinary_relay=b2bua")
      if [[ "$dial" == 911 ]]; then
        write_sosproxy_config "$dir/sosproxy.yaml" "$sp" "$(free_port)" "$uas_port"
      else
        write_sosproxy_config "$dir/sosproxy.yaml" "$sp" "$uas_port" "$(free_port)"
      fi
      start_sosproxy "$bin" "$dir/sosproxy.yaml"
      tpid="$proxy_pid"
      target="127.0.0.1:$sp" ;;
  esac

  local p3 p4 p5
  p3="$(free_port)"; p4="$(free_port)"; p5="$(media_port)"
  start_answerer "$dir" "$uas_port" "$calls" "$limit"

  start_ns="$(date +%s%N)"
  ( cd "$dir" && exec sipp -sf "$here/uac-e911.xml" -inf "$here/callers.csv" "$target" \
      -i 127.0.0.1 -p "$p3" -t u1 -s "$dial" -r "$rate" -m "$calls" \
      -cp "$p4" -mp "$p5" -nostdin -timeout "${limit}s" -timeout_error \
      -buff_size 4194304 -max_socket 4096 -trace_rtt -rtt_freq 100 -trace_stat -stf "$dir/uac.csv" \
      -fd 1 -trace_err -error_file "$dir/uac.errors" </dev/null >"$dir/uac.stdout" 2>&1 ) &
  uac_pid=$!
  pids+=("$uac_pid")
  # The window starts after the warm-up: CPU and completed calls are counted from there.
  local window_ok=0
  [[ "$warmup" -gt 0 ]] && sleep "$warmup"
  [[ -n "$tpid" ]] && mapfile -t tpids < <(tree "$tpid")
  t0="$(ticks "${tpids[@]}")"
  [[ "$warmup" -gt 0 ]] && window_ok="$(stat 'SuccessfulCall(C)' "$dir/uac.csv")"
  [[ "$window_ok" =~ ^[0-9]+$ ]] || window_ok=0
  # The window's end: the calls completed by then, whether or not SIPp is still busy (past the
  # limit, with calls put off by retransmissions, it finishes long after its last new call).
  local window_end_ok=""
  window_over() { ! kill -0 "$uac_pid" 2>/dev/null || (( $(date +%s%N) - start_ns >= (warmup + seconds) * 1000000000 )); }
  wait_until $((warmup + seconds + 5)) window_over || true
  window_end_ok="$(stat 'SuccessfulCall(C)' "$dir/uac.csv")"
  set +e; wait "$uac_pid"; rc=$?; set -e
  end_ns="$(date +%s%N)"
  # Kamailio may have forked more workers after start: take the tree again.
  [[ -n "$tpid" ]] && mapfile -t tpids < <(tree "$tpid")
  t1="$(ticks "${tpids[@]}")"
  step_cpu="-"; step_rss="-"; step_cpu_ticks=""
  if [[ -n "$tpid" ]]; then
    step_cpu_ticks=$((t1 - t0))
    step_cpu="$(awk -v a="$t0" -v b="$t1" -v hz="$hz" 'BEGIN { printf "%.2f", (b - a) / hz }')"
    step_rss="$(awk -v k="$(peak_rss_kb "${tpids[@]}")" 'BEGIN { printf "%.0f", k / 1024 }')"
  fi
  uas_done() { ! kill -0 "$uas_pid" 2>/dev/null; }
  wait_until 5 uas_done || true
  stop_pid "$uas_pid"
  [[ -n "$tpid" ]] && stop_pid "$tpid"
  stop_pid "$uac_pid"

  local ok failed retrans placed elapsed achieved
  placed="$(stat 'OutgoingCall(C)' "$dir/uac.csv")"
  ok="$(stat 'SuccessfulCall(C)' "$dir/uac.csv")"
  failed="$(stat 'FailedCall(C)' "$dir/uac.csv")"
  retrans="$(stat 'Retransmissions(C)' "$dir/uac.csv")"
  step_failed="$failed"; step_retrans="$retrans"
  elapsed="$(awk -v a="$start_ns" -v b="$end_ns" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')"
  # CPU microseconds per call completed in the window (after the warm-up).
  step_us_per_call="-"
  if [[ -n "$step_cpu_ticks" && "$ok" =~ ^[0-9]+$ && "$ok" -gt "$window_ok" ]]; then
    step_us_per_call="$(awk -v t="$step_cpu_ticks" -v hz="$hz" -v n="$((ok - window_ok))" \
      'BEGIN { printf "%.0f", t / hz * 1e6 / n }')"
  fi
  achieved="$(awk -v n="$ok" -v t="$elapsed" 'BEGIN { if (t > 0 && n ~ /^[0-9]+$/) printf "%.0f", n / t; else print "?" }')"
  # Calls completed per second in the window (SIPp writes its counts once a second).
  step_served="?"
  [[ "$window_end_ok" =~ ^[0-9]+$ && "$window_ok" =~ ^[0-9]+$ ]] &&
    step_served="$(awk -v a="$window_ok" -v b="$window_end_ok" -v t="$seconds" 'BEGIN { printf "%.0f", (b - a) / t }')"
  # Another program took a port between our check and SIPp's bind: the step did not run.
  if grep -q 'Unable to bind' "$dir/uac.stdout" "$dir/uas.stdout" 2>/dev/null; then
    echo "  $series $rate/s: a port was taken meanwhile (SIPp could not bind), trying the step again"
    mv "$dir" "$dir.not-run"
    return 2
  fi
  step_rtd="$(percentiles "$dir")"
  step_added="-"
  # The stateless relay writes no routing-log line for the calls it relays.
  [[ "$kind" == sos && "$series" != sos-plain ]] && step_added="$(added_percentiles "$dir/routing.log")"
  step_results["$series $rate"]="$step_added|$step_rtd"
  # A step passes when every call was placed and completed, none failed, SIPp exited 0, and the
  # calls came at 90% of the rate asked or more (SIPp could keep up).
  local verdict=FAIL
  if [[ "$rc" -eq 0 && "$failed" == 0 && "$ok" == "$calls" && "$achieved" =~ ^[0-9]+$ &&
        "$achieved" -ge $((rate * 9 / 10)) ]]; then
    verdict=PASS
  fi
  printf '  %-15s %5s/s  %6s of %6s ok, %s failed, %s retransmissions, %s calls/s over %s s (%s in the window), CPU %s s in the window (%s us a call), peak RSS %s MB, INVITE->200 p50/p90/p99 %s ms, added %s ms  %s\n' \
    "$series" "$rate" "$ok" "$calls" "$failed" "$retrans" "$achieved" "$elapsed" "$step_served" "$step_cpu" \
    "$step_us_per_call" "$step_rss" "$step_rtd" "$step_added" "$verdict"
  [[ "$verdict" == PASS ]]
}

declare -A best_rate best_cpu best_rss best_rtd best_added first_fail step_results cpu_per_call over_line
declare -A cpu_runs
step_no=0
all_series="sipp-direct kam-e911 sos-e911 sos-e911-b2bua kam-plain sos-plain sos-plain-b2bua sos-e911-pg"
if [[ -n "$only_series" ]]; then
  for s in $only_series; do
    [[ " $all_series " == *" $s "* ]] || die "--series: unknown series $s (of: $all_series)"
  done
  all_series="$only_series"
fi
top_rate=0
for r in $rates; do [[ "$r" -gt "$top_rate" ]] && top_rate="$r"; done

echo "compare: CPU per call at $cpu_rate calls/s, then rates \"$rates\" calls/s; each step $warmup s of warm-up, then a $seconds s window; Kamailio -m $kam_shm -M 16 -n $kam_children; UDP on 127.0.0.1; $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg) at the start"
echo "compare: $(sipp -v 2>&1 | grep -o 'SIPp v[^ ]*' | head -1); sosproxy $bin; $( [[ $have_kamailio -eq 1 ]] && kamailio -v 2>/dev/null | head -1 | awk '{ print $2, $3 }' || echo "kamailio not installed")"
installed_series=""
for s in $all_series; do
  best_rate[$s]=0; first_fail[$s]="-"; best_cpu[$s]="-"; best_rss[$s]="-"; best_rtd[$s]="-"; best_added[$s]="-"
  cpu_per_call[$s]="-"; cpu_runs[$s]=""
  if [[ "$s" == sos-e911-pg && "$have_postgresql" -eq 0 ]]; then
    echo "series $s: not installed (no PostgreSQL server binaries under /usr/lib/postgresql)"
    best_rate[$s]="not installed"
    continue
  fi
  if [[ "$s" == kam-* && "$have_kamailio" -eq 0 ]]; then
    echo "series $s: not installed (no kamailio on PATH)"
    best_rate[$s]="not installed"
    continue
  fi
  installed_series+=" $s"
done
# CPU per call: the series take turns, --cpu-repeat rounds; sipp-direct has no process under test.
# A step where calls failed counts all the same, marked with '!'.
if [[ "$cpu_rate" -gt 0 ]]; then
  for ((round = 1; round <= cpu_repeat; round++)); do
    echo "CPU round $round of $cpu_repeat at $cpu_rate calls/s:"
    for s in $installed_series; do
      [[ "$s" == sipp-direct ]] && continue
      step_rc=0
      run_step "$s" "$cpu_rate" || step_rc=$?
      [[ "$step_rc" -eq 2 ]] && { step_rc=0; run_step "$s" "$cpu_rate" || step_rc=$?; }
      v="$step_us_per_call"
      [[ "$step_rc" -eq 0 ]] || v="$v!"
      cpu_runs[$s]="${cpu_runs[$s]:+${cpu_runs[$s]} }$v"
    done
  done
  # The median of the rounds' figures ('!' and '-' steps included as they are; '-' sorts last).
  for s in $installed_series; do
    [[ -n "${cpu_runs[$s]}" ]] || continue
    cpu_per_call[$s]="$(tr ' ' '\n' <<<"${cpu_runs[$s]}" | tr -d '!' | sed 's/^-$/999999999/' | sort -n |
      awk '{ v[NR] = $1 } END { m = v[int((NR + 1) / 2)]; print (m == 999999999 ? "-" : m) }')"
  done
fi
for s in $installed_series; do
  echo "series $s:"
  for r in $rates; do
    step_rc=0
    run_step "$s" "$r" || step_rc=$?
    [[ "$step_rc" -eq 2 ]] && { step_rc=0; run_step "$s" "$r" || step_rc=$?; }
    if [[ "$step_rc" -eq 0 ]]; then
      best_rate[$s]="$r"; best_cpu[$s]="$step_cpu"; best_rss[$s]="$step_rss"; best_rtd[$s]="$step_rtd"
      best_added[$s]="$step_added"
    else
      first_fail[$s]="$r"
      break
    fi
  done
  # Bisection between the last rate that passed and the first that failed (steps of 50 calls/s).
  lo="${best_rate[$s]}"; hi="${first_fail[$s]}"
  for ((i = 0; i < bisect; i++)); do
    [[ "$lo" =~ ^[0-9]+$ && "$hi" =~ ^[0-9]+$ ]] || break
    mid=$(( (lo + hi) / 2 / 50 * 50 ))
    (( mid > lo && mid < hi )) || break
    step_rc=0
    run_step "$s" "$mid" || step_rc=$?
    [[ "$step_rc" -eq 2 ]] && { step_rc=0; run_step "$s" "$mid" || step_rc=$?; }
    if [[ "$step_rc" -eq 0 ]]; then
      lo="$mid"
      best_rate[$s]="$mid"; best_cpu[$s]="$step_cpu"; best_rss[$s]="$step_rss"; best_rtd[$s]="$step_rtd"
      best_added[$s]="$step_added"
    else
      hi="$mid"
      first_fail[$s]="$mid"
    fi
  done
  # Past the limit: served calls per second in the window, against the limit.
  if [[ "$s" == *-e911* && "$s" != *-pg && "${best_rate[$s]}" =~ ^[0-9]+$ && "${best_rate[$s]}" -gt 0 ]] &&
     awk -v f="$overload" 'BEGIN { exit !(f > 0) }'; then
    over_rate="$(awk -v f="$overload" -v m="${best_rate[$s]}" 'BEGIN { printf "%.0f", f * m }')"
    step_rc=0
    run_step "$s" "$over_rate" || step_rc=$?
    [[ "$step_rc" -eq 2 ]] && { run_step "$s" "$over_rate" || true; }
    over_line[$s]="$s at $over_rate calls/s ($overload x its limit ${best_rate[$s]}$( [[ "${best_rate[$s]}" -eq "$top_rate" ]] && echo ", the highest rate tried")): served $step_served calls/s in the window ($(awk -v a="$step_served" -v m="${best_rate[$s]}" 'BEGIN { if (a ~ /^[0-9]+$/) printf "%.0f", 100 * a / m; else print "?" }') % of the limit; target >= 90 %), $step_failed failed, $step_retrans retransmissions"
  fi
done

what() {
  case "$1" in
    sipp-direct) echo "SIPp caller -> SIPp answerer, 911, no proxy" ;;
    kam-e911) echo "911 via Kamailio ($kam_children worker$( [[ $kam_children -gt 1 ]] && echo s))" ;;
    sos-e911) echo "911 via sosproxy (stateful relay, PIDF-LO)" ;;
    sos-e911-b2bua) echo "911 via sosproxy (B2BUA, PIDF-LO)" ;;
    kam-plain) echo "ordinary via Kamailio" ;;
    sos-plain) echo "ordinary via sosproxy (stateless relay)" ;;
    sos-plain-b2bua) echo "ordinary via sosproxy (B2BUA)" ;;
    sos-e911-pg) echo "911 via sosproxy, store on PostgreSQL" ;;
  esac
}
echo
if [[ "$cpu_rate" -gt 0 ]]; then
  echo "CPU per call at $cpu_rate calls/s: user+system microseconds of the process under test"
  echo "(Kamailio: all its processes) in the $seconds s window, divided by the calls completed in it."
  echo "Each series' figure is the median of its $cpu_repeat step(s), one a round, the series taking turns"
  echo "('!': calls failed in that step)."
  for s in $all_series; do
    [[ "$s" == sipp-direct ]] && continue
    printf '  %-15s %s us  (rounds: %s)\n' "$s" "${cpu_per_call[$s]:--}" "${cpu_runs[$s]:--}"
  done
  cpu_ratio() { # cpu_ratio SOS KAM LABEL TARGET
    local a="${cpu_per_call[$1]:-}" b="${cpu_per_call[$2]:-}" per_round
    [[ "$a" =~ ^[0-9]+$ && "$b" =~ ^[0-9]+$ && "$b" -gt 0 ]] || return 0
    # The same ratio round by round (the two steps of a round ran minutes apart at most).
    per_round="$(paste -d' ' <(tr ' ' '\n' <<<"${cpu_runs[$1]}") <(tr ' ' '\n' <<<"${cpu_runs[$2]}") |
      awk '{ gsub(/!/, ""); if ($1 ~ /^[0-9]+$/ && $2 ~ /^[0-9]+$/ && $2 > 0) printf "%s%.2f", sep, $1 / $2; else printf "%s-", sep; sep = " " }')"
    local failed=""
    [[ "${cpu_runs[$1]}${cpu_runs[$2]}" == *'!'* ]] && failed=" (calls failed in a round: not a clean figure)"
    echo "$3: CPU per call sosproxy/Kamailio = $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }') ($a / $b us; target <= $4; round by round: $per_round)$failed"
  }
  cpu_ratio sos-e911 kam-e911 "emergency calls" 1.0
  cpu_ratio sos-e911-b2bua kam-e911 "emergency calls, B2BUA" 1.0
  cpu_ratio sos-plain kam-plain "ordinary calls " 0.8
  cpu_ratio sos-plain-b2bua kam-plain "ordinary calls, B2BUA" 0.8
  echo
fi
echo "Highest rate with zero failed calls (each step $warmup s of warm-up, then a $seconds s window;"
echo "'+': no failure up to the highest rate tried)."
echo "CPU: user+system seconds of the process under test (Kamailio: all its processes) in the"
echo "window at that rate. RSS: its peak resident memory (Kamailio: its largest process, which"
echo "includes the shared memory it touched). INVITE->200: SIPp's response times at that rate, from"
echo "-trace_rtt, whole milliseconds (0 = under 1 ms); through a proxy they include the answerer"
echo "and both proxy hops; sipp-direct is the floor without a proxy. SIPp's clock advances once per"
echo "pass of its event loop, so its figures come in coarse steps. sosproxy added: added_ms of its"
echo "routing log (INVITE in -> INVITE out, sosproxy's own measure), milliseconds."
echo
printf '| %-15s | %-44s | %-11s | %-8s | %-5s | %-11s | %-23s | %-24s |\n' series what "max calls/s" "fails at" "CPU s" "peak RSS MB" "INVITE->200 p50/p90/p99" "sosproxy added p50/p90/p99"
printf '|%s|%s|%s|%s|%s|%s|%s|%s|\n' "-----------------" "----------------------------------------------" "-------------" "----------" "-------" "-------------" "-------------------------" "--------------------------"
for s in $all_series; do
  m="${best_rate[$s]}"
  [[ "$m" =~ ^[0-9]+$ && "$m" -eq "$top_rate" ]] && m="$m+"
  rtd="${best_rtd[$s]}"; [[ "$rtd" == "-" ]] || rtd="$rtd ms"
  added="${best_added[$s]}"; [[ "$added" == "-" ]] || added="$added ms"
  printf '| %-15s | %-44s | %-11s | %-8s | %-5s | %-11s | %-23s | %-24s |\n' "$s" "$(what "$s")" "$m" \
    "${first_fail[$s]}" "${best_cpu[$s]}" "${best_rss[$s]}" "$rtd" "$added"
done
echo
ratio() { # ratio SOS KAM LABEL TARGET
  local a="${best_rate[$1]:-}" b="${best_rate[$2]:-}" note=""
  [[ -n "$a" && -n "$b" ]] || return 0  # a series left out with --series
  if ! [[ "$a" =~ ^[0-9]+$ && "$b" =~ ^[0-9]+$ && "$b" -gt 0 ]]; then
    echo "$3: sosproxy/Kamailio = n/a ($1 ${a}, $2 ${b}; target >= $4)"
    return
  fi
  [[ "$a" -eq "$top_rate" || "$b" -eq "$top_rate" ]] && note=" (a series reached the highest rate tried: raise --rates for a real ratio)"
  echo "$3: sosproxy/Kamailio = $(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", a / b }') ($a / $b calls/s; target >= $4)$note"
}
ratio sos-e911 kam-e911 "emergency calls" 1.0
ratio sos-plain kam-plain "ordinary calls " 1.2
# The call path never reads the store: the backend should not change the 911 figures.
if [[ "${best_rate[sos-e911-pg]:-}" =~ ^[0-9]+$ && -n "${best_rate[sos-e911]:-}" ]]; then
  echo "911 calls/s by store backend: SQLite ${best_rate[sos-e911]}, PostgreSQL ${best_rate[sos-e911-pg]}" \
       "(CPU per call at $cpu_rate/s: ${cpu_per_call[sos-e911]:--} us, ${cpu_per_call[sos-e911-pg]:--} us)"
fi
# The latency target is set at half of sosproxy's highest rate: the step closest to it at or below.
for s in sos-e911 sos-e911-b2bua sos-plain sos-plain-b2bua; do
  m="${best_rate[$s]:-}"
  [[ "$m" =~ ^[0-9]+$ && "$m" -gt 0 ]] || continue
  half=0
  for key in "${!step_results[@]}"; do
    [[ "$key" == "$s "* ]] || continue
    r="${key#* }"
    (( r <= m / 2 && r > half )) && half="$r"
  done
  [[ "$half" -gt 0 ]] || continue
  v="${step_results["$s $half"]}"
  if [[ "${v%%|*}" == "-" ]]; then
    echo "$s at $half calls/s (half of $m or less): INVITE->200 p50/p90/p99 ${v#*|} ms (the stateless relay logs no added time)"
  else
    echo "$s at $half calls/s (half of $m or less): sosproxy added p50/p90/p99 ${v%%|*} ms, INVITE->200 p50/p90/p99 ${v#*|} ms (target: added p99 under 1 ms)"
  fi
done
for s in $all_series; do
  [[ -n "${over_line[$s]:-}" ]] && echo "Past the limit: ${over_line[$s]}"
done
echo "load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
exit 0
