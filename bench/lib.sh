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
       [[ "$given" != *" $((p + 1)) "* && "$given" != *" $((p + 2)) "* && "$given" != *" $((p + 3)) "* ]]; then
      given+="$((p + 1)) $((p + 2)) $((p + 3)) "
      echo "$p"
      return 0
    fi
  done
  die "no free media ports"
}
# write_sosproxy_config FILE PROXY_PORT CARRIER_PORT PSAP_A_PORT [ADMIN_PORT]: sosproxy on the
# demo enterprise (as scripts/load-test.sh writes it), the demo locations as seed, in memory (no
# store.path), logging at warn; with ADMIN_PORT, its admin API (and /metrics) there.
write_sosproxy_config() {
  local b c d e
  b="$(free_port)"; c="$(free_port)"; d="$(free_port)"; e="$(free_port)"
  cat > "$1" <<YAML
# Written by bench/lib.sh: the demo enterprise on free ports, locations in memory.
listen: {address: 127.0.0.1, port: $2, transports: [udp]}
trusted_networks: [127.0.0.0/8]
carrier_trunk: carrier
trunks:
  - {name: carrier, host: 127.0.0.1, port: $3, transport: udp, mode: plain}
  - {name: il-psap-a, host: 127.0.0.1, port: $4, transport: udp, mode: pidf}
  - {name: il-psap-b, host: 127.0.0.1, port: $b, transport: udp, mode: elin}
  - {name: erc, host: 127.0.0.1, port: $c, transport: udp, mode: both}
  - {name: uk-999, host: 127.0.0.1, port: $d, transport: udp, mode: elin}
  - {name: psap-test, host: 127.0.0.1, port: $e, transport: udp, mode: both}
sites:
  - {name: HQ, country: US, dial_strings: ["911"], outside_line_prefix: "9", test_numbers: ["933"],
     extensions: ["1*"], networks: [10.1.0.0/16], psap_route: [il-psap-a, il-psap-b, erc]}
  - {name: London, country: GB, dial_strings: ["999", "112"], extensions: ["2*"],
     networks: [10.44.0.0/16], psap_route: [uk-999, erc]}
emergency_routing:
  erc: erc
  test_destination: psap-test
  civic_rules:
    - {match: {country: US, A1: IL}, route: [il-psap-a, il-psap-b]}
    - {match: {country: GB}, route: [uk-999]}
store:
  seed: "$root/config/examples/demo-locations.yaml"
logging: {level: warn, format: text, routing_log: "$(dirname "$1")/routing.log"}
YAML
  if [[ -n "${5:-}" ]]; then
    echo "admin: {address: 127.0.0.1, port: $5}" >> "$1"
  fi
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
