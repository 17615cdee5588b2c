# Shared by the bench scripts (sourced after scripts/lib/run.sh; needs $root).

# stop_pid PID: SIGTERM, then SIGKILL after 5 s; forgotten by the exit cleanup afterwards.
stop_pid() {
  local pid="$1" keep_pids=() p
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  for p in "${pids[@]}"; do [[ "$p" == "$pid" ]] || keep_pids+=("$p"); done
  pids=("${keep_pids[@]}")
}
# media_port: a free port whose next three are free too (SIPp opens its media sockets there).
media_port() {
  local p
  for _ in $(seq 100); do
    p="$(free_port)"
    if ! port_bound $((p + 1)) && ! port_bound $((p + 2)) && ! port_bound $((p + 3)) &&
       ! port_given $((p + 1)) && ! port_given $((p + 2)) && ! port_given $((p + 3)); then
      give_port $((p + 1)); give_port $((p + 2)); give_port $((p + 3))
      echo "$p"
      return 0
    fi
  done
  die "no free media ports"
}
# write_sosproxy_config FILE PROXY_PORT CARRIER_PORT PSAP_A_PORT [ADMIN_PORT]: sosproxy ($bin) on
# the demo enterprise as the load scripts run it (write_demo_config in scripts/lib/run.sh), over
# UDP only, with its admin API (and /metrics) on ADMIN_PORT, or on a free port; then each
# PATH=VALUE of the array sos_sets, if the script has one.
write_sosproxy_config() {
  local proxy_port="$2" admin_port="${5:-$(free_port)}" s
  local -A trunk_ports=([carrier]="$3" [il-psap-a]="$4")
  local extra=()
  for s in ${sos_sets[@]+"${sos_sets[@]}"} ${step_sets[@]+"${step_sets[@]}"}; do
    extra+=(--set "$s")
  done
  write_demo_config "$bin" "$1" udp --set "listen.transports=[udp]" "${extra[@]}"
}

# start_answerer DIR PORT CALLS LIMIT_SECONDS: bench/uas-answer.xml listening on PORT (UDP), its
# files in DIR, up to CALLS calls at once; waited for until it listens. Sets uas_pid.
start_answerer() {
  local dir="$1" port="$2" calls="$3" limit="$4"
  ( cd "$dir" && exec sipp -sf "$here/uas-answer.xml" -i 127.0.0.1 -p "$port" -t u1 \
      -m "$calls" -l "$calls" -cp "$(free_port)" -mp "$(media_port)" -nostdin -timeout "${limit}s" \
      -buff_size 4194304 -trace_err -error_file "$dir/uas.errors" -trace_stat -stf "$dir/uas.csv" \
      -fd 1 </dev/null >"$dir/uas.stdout" 2>&1 ) &
  uas_pid=$!
  pids+=("$uas_pid")
  uas_up() { port_bound "$port" || ! kill -0 "$uas_pid" 2>/dev/null; }
  wait_until 10 uas_up && kill -0 "$uas_pid" 2>/dev/null || { cat "$dir/uas.stdout" >&2; die "the SIPp answerer did not start"; }
}
