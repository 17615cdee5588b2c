#!/usr/bin/env bash
# A throw-away PostgreSQL server for tests and for trying sosproxy's PostgreSQL store by hand.
#
#   scripts/pg-local.sh start DIR   makes a cluster in DIR/data (DIR absent or empty), or starts
#                                   again the one an earlier start left there; listens on a free
#                                   port on 127.0.0.1 only, superuser sosproxy, a database of
#                                   its own (sosproxy_XXXXXXXX); prints the connection string
#                                   (also in DIR/conninfo) alone on stdout. Log: DIR/postgres.log.
#   scripts/pg-local.sh stop DIR    stops it (fast shutdown); nothing to do is not an error
#   scripts/pg-local.sh url DIR     prints DIR/conninfo
#
# Scratch data only, never production: fsync is off and anyone on the machine may connect to it
# through 127.0.0.1 without a password (trust authentication). Uses the newest
# /usr/lib/postgresql/*/bin, or PG_BIN. As root, the server runs as the postgres user (nobody
# when there is none), since PostgreSQL will not run as root.
set -euo pipefail

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//'; }
die() { echo "pg-local: $*" >&2; exit 1; }

case "${1:-}" in
  -h | --help | help) usage; exit 0 ;;
  "") usage >&2; exit 2 ;;
  start | stop | url) cmd="$1" ;;
  *) die "unknown command '$1' (see --help)" ;;
esac
[[ $# -eq 2 && -n "$2" ]] || die "$cmd needs exactly one argument, the directory (see --help)"
dir="$2"

if [[ -z "${PG_BIN:-}" ]]; then
  PG_BIN="$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)"
fi
bin="$PG_BIN"

# The user the server runs as, and a way to run a command as that user.
run_user=""
if [[ "$(id -u)" -eq 0 ]]; then
  if id -u postgres >/dev/null 2>&1; then run_user=postgres; else run_user=nobody; fi
fi
as_user() {
  if [[ -z "$run_user" ]]; then
    "$@"
  elif command -v runuser >/dev/null; then
    runuser -u "$run_user" -- "$@"
  else
    setpriv --reuid="$run_user" --regid="$(id -g "$run_user")" --init-groups -- "$@"
  fi
}

# A cluster made by an earlier start: initdb's PG_VERSION and the settings file start writes.
ours() { [[ -f "$1/data/PG_VERSION" && -f "$1/data/pg-local.conf" ]]; }

if [[ "$cmd" == url ]]; then
  [[ -f "$dir/conninfo" ]] || die "no $dir/conninfo: run '$0 start $dir' first"
  cat "$dir/conninfo"
  exit 0
fi

[[ -x "$bin/pg_ctl" ]] ||
  die "no PostgreSQL server programs in '$bin' (install postgresql, or set PG_BIN)"

if [[ "$cmd" == stop ]]; then
  ours "$dir" || exit 0
  dir="$(cd "$dir" && pwd)"
  # Whoever owns the cluster has to stop it, whichever user root would pick today.
  if [[ -n "$run_user" ]]; then run_user="$(stat -c %U "$dir/data")"; fi
  cd /
  as_user "$bin/pg_ctl" status -D "$dir/data" >/dev/null 2>&1 || { rm -f "$dir/pid"; exit 0; }
  as_user "$bin/pg_ctl" stop -D "$dir/data" -m fast -w -t 30 -s ||
    die "pg_ctl could not stop the server in $dir/data (see $dir/postgres.log)"
  rm -f "$dir/pid"
  exit 0
fi

# start.
mkdir -p "$dir" || die "cannot create $dir"
dir="$(cd "$dir" && pwd)"
data="$dir/data"
log="$dir/postgres.log"
# The server's socket is DIR/.s.PGSQL.PORT, and a socket path has at most 107 bytes.
(( $(printf %s "$dir" | wc -c) + 15 <= 107 )) ||
  die "$dir is too long a path for the server's socket in it (at most 92 bytes)"
# pg_ctl hands the paths to a shell inside double quotes.
[[ "$dir" != *[\"\$\`\\]* && "$dir" != *$'\n'* ]] ||
  die "$dir has a quote, \$, backquote, backslash or newline in it, which pg_ctl cannot pass on"
if ours "$dir"; then
  if [[ -n "$run_user" ]]; then run_user="$(stat -c %U "$data")"; fi
elif [[ -n "$(ls -A "$dir")" ]]; then
  die "$dir is neither empty nor a cluster made by $(basename "$0") start"
fi
if [[ -n "$run_user" ]]; then
  chown "$run_user:" "$dir" || die "cannot give $dir to the user $run_user"
fi
# Clear of the caller's directory, which the server's user may not be allowed into.
cd /
as_user test -w "$dir" -a -x "$dir" ||
  die "the user ${run_user:-$(id -un)} cannot write in $dir (is a parent directory closed to it?)"

if ! ours "$dir"; then
  locale=C
  if locale -a 2>/dev/null | grep -qix 'c\.utf-\{0,1\}8'; then locale=C.UTF-8; fi
  out="$(as_user "$bin/initdb" -D "$data" -A trust -U sosproxy --encoding=UTF8 \
           --locale="$locale" --no-sync 2>&1)" || { echo "$out" >&2; die "initdb failed in $data"; }
  # Every start rewrites pg-local.conf (the port can change); a missing one stops the server
  # rather than letting it come up on 5432 with its socket under /var/run.
  echo "include = 'pg-local.conf'" | as_user tee -a "$data/postgresql.conf" >/dev/null
  as_user touch "$data/pg-local.conf"
fi

# port_free PORT: nothing listens on 127.0.0.1:PORT. With SO_REUSEADDR, as the server binds:
# the connections of a server just stopped (TIME_WAIT) do not keep its port from a restart.
port_free() {
  if command -v python3 >/dev/null; then
    python3 -c 'import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))' "$1" 2>/dev/null
  elif command -v ss >/dev/null; then
    [[ -z "$(ss -Htln "sport = :$1")" ]]
  else
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 1; fi
  fi
}
# next_port FROM: the first free port from FROM on.
next_port() {
  local p
  for ((p = $1; p < $1 + 1000; p++)); do
    port_free "$p" && { echo "$p"; return 0; }
  done
  die "no free TCP port on 127.0.0.1 from $1 to $((p - 1))"
}
conf_quote() { printf "'%s'" "${1//\'/\'\'}"; }

port=""
if as_user "$bin/pg_ctl" status -D "$data" >/dev/null 2>&1; then
  port="$(sed -n 's/^port = //p' "$data/pg-local.conf")"
  echo "pg-local: already running in $data" >&2
else
  # The port of the last run when it is still free, so DIR/conninfo stays the same.
  port="$(sed -n 's/^port = //p' "$data/pg-local.conf")"
  # From a random place in 54320-58319, so that servers started at once (tests in parallel)
  # seldom try the same ports.
  if [[ -z "$port" ]] || ! port_free "$port"; then port="$(next_port $((54320 + RANDOM % 4000)))"; fi
  deadline=$((SECONDS + 30))
  # Another start may take the same port between the test and the bind: then try the next one.
  for attempt in 1 2 3 4 5 6 7 8 9 10; do
    printf '%s\n' "listen_addresses = '127.0.0.1'" "port = $port" \
      "unix_socket_directories = $(conf_quote "$dir")" "fsync = off" |
      as_user tee "$data/pg-local.conf" >/dev/null
    logged="$(stat -c %s "$log" 2>/dev/null || echo 0)"
    wait_s=$((deadline - SECONDS)); ((wait_s > 0)) || wait_s=1
    if out="$(as_user "$bin/pg_ctl" start -D "$data" -l "$log" -w -t "$wait_s" -s 2>&1)"; then
      break
    fi
    if [[ "$attempt" -lt 10 ]] && tail -c +"$((logged + 1))" "$log" 2>/dev/null |
         grep -q 'Address already in use'; then
      port="$(next_port "$((port + 1))")"
      continue
    fi
    # A start that timed out can leave a server behind.
    as_user "$bin/pg_ctl" stop -D "$data" -m immediate -s >/dev/null 2>&1 || true
    tail -n 20 "$log" >&2 2>/dev/null || true
    [[ -z "$out" ]] || echo "$out" >&2
    die "pg_ctl could not start the server in $data (log: $log)"
  done
  until "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; do
    if ((SECONDS >= deadline)); then
      tail -n 20 "$log" >&2 2>/dev/null || true
      die "the server in $data did not accept connections on 127.0.0.1:$port within 30 s"
    fi
    sleep 0.2
  done
fi

head -n 1 "$data/postmaster.pid" >"$dir/pid"

psql() {
  "$bin/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$port" -U sosproxy -d postgres "$@"
}
# The database's name is the cluster's own (sosproxy_ and 8 hex digits, kept in DIR/dbname): a
# client of a stopped server whose port another scratch server took meanwhile finds no such
# database there, as if the server were still down.
[[ -f "$dir/dbname" ]] || printf 'sosproxy_%08x\n' "$((RANDOM * 32768 + RANDOM))" >"$dir/dbname"
dbname="$(cat "$dir/dbname")"
if [[ -z "$(psql -Atc "select 1 from pg_database where datname = '$dbname'")" ]]; then
  psql -c "create database $dbname owner sosproxy" >/dev/null ||
    die "could not create the database $dbname on 127.0.0.1:$port"
fi

url="postgresql://sosproxy@127.0.0.1:$port/$dbname"
echo "$url" >"$dir/conninfo"
echo "pg-local: PostgreSQL $(cat "$data/PG_VERSION") on 127.0.0.1:$port as" \
  "${run_user:-$(id -un)}, data in $data, log $log; stop with: $0 stop $dir" >&2
echo "$url"
