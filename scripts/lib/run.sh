# Shared by the load scripts (sourced, not run): free ports, bounded waits, processes stopped by
# PID on exit, and SIPp's statistics. The sourcing script sets `work` (its directory) and `keep`
# (1 keeps that directory) before the first process starts.

# Every process a script starts, stopped by PID on the way out (SIGTERM, then SIGKILL).
pids=()
cleanup() {
  local pid
  # A sourcing script's own things to stop first (a scratch database server), when it has any.
  if declare -F cleanup_more >/dev/null; then cleanup_more || true; fi
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  if [[ "${keep:-0}" -eq 1 ]]; then echo "files kept in $work"; else rm -rf "$work"; fi
  rm -f "$given_file"
}
trap cleanup EXIT

# Is PORT bound on UDP (any socket) or TCP (listening)? Reads /proc/net, ports in hex.
port_bound() {
  local hex
  hex="$(printf ':%04X' "$1")"
  awk -v p="$hex" 'NR > 1 && substr($2, length($2) - 4) == p { found = 1 } END { exit !found }' \
    /proc/net/udp /proc/net/udp6 2>/dev/null && return 0
  awk -v p="$hex" 'NR > 1 && substr($2, length($2) - 4) == p && $4 == "0A" { found = 1 }
                   END { exit !found }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# The ports handed out so far, one a line, in a file: free_port runs as $(free_port), in a
# subshell, where a variable it set would be lost and the same port could be handed out twice.
given_file="$(mktemp "${TMPDIR:-/tmp}/sosproxy-ports.XXXXXX")"
port_given() { grep -qx "$1" "$given_file"; }
give_port() { echo "$1" >>"$given_file"; }
free_port() {
  local p
  for _ in $(seq 1000); do
    p=$((20000 + RANDOM % 12000))
    port_given "$p" && continue
    port_bound "$p" && continue
    give_port "$p"
    echo "$p"
    return 0
  done
  die "no free port"
}

# wait_until SECONDS COMMAND...: polls every 50 ms.
wait_until() {
  local limit=$(( $1 * 20 )); shift
  for _ in $(seq "$limit"); do "$@" && return 0; sleep 0.05; done
  return 1
}

# write_demo_config BIN FILE TRANSPORT [--set PATH=VALUE]...: writes to FILE the demo enterprise
# of config/examples/demo.yaml (the one copy of it) as the load scripts run it, derived by
# `BIN print-config`: sosproxy on $proxy_port and its admin server on $admin_port; each trunk
# on the port trunk_ports[NAME] gives (an associative array the caller declares), or on a free
# one, over TRANSPORT; the demo's locations in memory (its seed, no database file); no
# responders (an alert per 911 call would load the I/O thread, and nobody is there to answer);
# the routing log beside FILE (routing.log) at level warn. Further --set arguments come last, so
# they win. Dies when BIN cannot derive a valid configuration.
write_demo_config() {
  local bin="$1" file="$2" transport="$3"
  shift 3
  local demo="$root/config/examples/demo.yaml" name sets=()
  declare -p trunk_ports >/dev/null 2>&1 || declare -gA trunk_ports=()
  sets+=(--set "listen.port=$proxy_port" --set "admin.port=$admin_port")
  # The trunk names, read from the demo as print-config writes it ("  - name: X" under trunks).
  for name in $("$bin" print-config "$demo" |
                awk '/^[^ #]/ { trunks = /^trunks:/; next } trunks && /^  - name: / { print $3 }'); do
    sets+=(--set "trunks[$name].port=${trunk_ports[$name]:-$(free_port)}")
  done
  sets+=(--set "trunks[*].transport=$transport" --set "sites[*].responders=[]"
         --set "store={seed: demo-locations.yaml}"
         --set "logging={level: warn, format: text, routing_log: \"$(dirname "$file")/routing.log\"}")
  "$bin" print-config "$demo" "${sets[@]}" "$@" >"$file" ||
    die "could not derive a configuration from $demo"
}

# start_sosproxy BIN CONFIG: starts it in the background and waits for "sosproxy ready:";
# sets proxy_pid.
start_sosproxy() {
  "$1" --config "$2" </dev/null >"$work/sosproxy.stdout" 2>"$work/sosproxy.stderr" &
  proxy_pid=$!
  pids+=("$proxy_pid")
  proxy_ready() { grep -qs '^sosproxy ready:' "$work/sosproxy.stdout" || ! kill -0 "$proxy_pid" 2>/dev/null; }
  if ! wait_until 20 proxy_ready || ! kill -0 "$proxy_pid" 2>/dev/null; then
    cat "$work/sosproxy.stdout" "$work/sosproxy.stderr" >&2
    die "sosproxy did not get ready"
  fi
}

# start_sipp_uas NAME SCENARIO PORT SIPP_TRANSPORT CALLS LIMIT_SECONDS: a SIPp trunk, waited
# for until it listens; its pid goes to pids and to the variable uas_pid_NAME.
start_sipp_uas() {
  local name="$1" scenario="$2" port="$3" t="$4" calls="$5" limit="$6"
  sipp -sf "$scenarios/$scenario" -i 127.0.0.1 -p "$port" -t "$t" \
    -m "$calls" -cp "$(free_port)" -mp "$(free_port)" -nostdin -timeout "${limit}s" -timeout_error \
    -trace_err -error_file "$work/$name.errors" -trace_stat -stf "$work/$name.csv" -fd 1 \
    -max_socket 4096 </dev/null >"$work/$name.stdout" 2>&1 &
  local pid=$!
  pids+=("$pid")
  printf -v "uas_pid_$name" '%s' "$pid"
  uas_ready() { port_bound "$port" || ! kill -0 "$pid" 2>/dev/null; }
  if ! wait_until 10 uas_ready || ! kill -0 "$pid" 2>/dev/null; then
    cat "$work/$name.stdout" >&2
    die "the SIPp trunk $name did not start"
  fi
}

# sosproxy's CPU seconds and peak resident memory, read before it is stopped.
proxy_cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{ sub(/^.*\) /, ""); printf "%.2f", ($12 + $13) / hz }' \
    "/proc/$proxy_pid/stat" 2>/dev/null || echo "?"
}
proxy_max_rss() { awk '/^VmHWM:/ { print $2 " " $3 }' "/proc/$proxy_pid/status" 2>/dev/null || echo "?"; }

# sosproxy's /metrics on \$admin_port, with curl or bash's /dev/tcp.
metrics() {
  if command -v curl >/dev/null; then
    curl -s --max-time 5 "http://127.0.0.1:$admin_port/metrics"
    return
  fi
  exec 3<>"/dev/tcp/127.0.0.1/$admin_port" || return 1
  printf 'GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' >&3
  timeout 5 cat <&3
  exec 3<&-
}
# metric NAME: its value, or "?".
metric() {
  local v
  v="$(metrics 2>/dev/null | awk -v n="$1" '$1 == n { print $2 }')"
  echo "${v:-?}"
}
# stat NAME FILE: the last value of column NAME in a SIPp statistics CSV (cumulative counters).
stat() {
  awk -F';' -v name="$1" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == name) col = i; next }
                          { last = $col } END { print (col ? last : "?") }' "$2" 2>/dev/null || echo "?"
}

# make_test_certs DIR NAME...: a throwaway CA (DIR/ca.pem) and, for each NAME, a certificate for
# the DNS name NAME that it signed: DIR/NAME.crt, DIR/NAME.key and DIR/NAME.pem (both, as socat
# takes them). EC P-256 keys, valid 2 days. For SIP over TLS runs only; never kept.
make_test_certs() {
  local dir="$1" name
  shift
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$dir/ca.key" -out "$dir/ca.pem" -days 2 -subj "/CN=sosproxy load CA" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign \
    >/dev/null 2>&1 || die "openssl could not make a test CA"
  for name in "$@"; do
    printf 'subjectAltName=DNS:%s\nextendedKeyUsage=serverAuth,clientAuth\n' "$name" >"$dir/$name.ext"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$dir/$name.key" \
      -out "$dir/$name.csr" -subj "/CN=$name" >/dev/null 2>&1 &&
    openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
      -CAcreateserial -out "$dir/$name.crt" -days 2 -extfile "$dir/$name.ext" >/dev/null 2>&1 ||
      die "openssl could not make a certificate for $name"
    cat "$dir/$name.crt" "$dir/$name.key" >"$dir/$name.pem"
  done
}

# start_socat NAME PORT ADDRESS1 ADDRESS2: socat between the two (one of them listening on
# 127.0.0.1:PORT), waited for until PORT listens; its pid goes to pids and socat_pid_NAME.
start_socat() {
  local name="$1" port="$2"
  socat "$3" "$4" </dev/null >"$work/$name.stdout" 2>"$work/$name.stderr" &
  local pid=$!
  pids+=("$pid")
  printf -v "socat_pid_$name" '%s' "$pid"
  socat_up() { port_bound "$port" || ! kill -0 "$pid" 2>/dev/null; }
  wait_until 10 socat_up && kill -0 "$pid" 2>/dev/null || die "socat $name did not listen on $port"
}

# socat_cpu_seconds PID: user + system CPU of a socat and its children so far (each connection
# is a child with fork; /proc's cutime counts the ones that ended).
socat_cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15 + $16 + $17) / hz }' "/proc/$1/stat"
}
