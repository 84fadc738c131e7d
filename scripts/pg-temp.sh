#!/usr/bin/env bash
# Starts a throw-away PostgreSQL server on 127.0.0.1 in a temporary directory, runs the given command with
# SIV_TEST_POSTGRES set to its admin connection string, then stops the server and removes the directory, whatever
# the command's outcome. Installs Debian's postgresql package first when no server binaries are present (root only).
#   scripts/pg-temp.sh dotnet test
set -euo pipefail

find_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

PGBIN="$(find_bin || true)"
if [[ -z "$PGBIN" ]]; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "pg-temp: PostgreSQL is not installed and this is not root; install Debian's postgresql package" >&2
    exit 1
  fi
  echo "pg-temp: installing PostgreSQL from Debian's packages"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  PGBIN="$(find_bin)"
  # The package may start its default cluster; this script only wants its own server.
  if command -v pg_lsclusters >/dev/null 2>&1; then
    pg_lsclusters --no-header 2>/dev/null | awk '$4 == "online" { print $1, $2 }' | while read -r v c; do
      pg_ctlcluster "$v" "$c" stop || true
    done
  fi
fi

# initdb and postgres refuse to run as root: use the package's postgres account then.
RUN=()
if [[ $(id -u) -eq 0 ]]; then RUN=(runuser -u postgres --); fi

DIR="$(mktemp -d /tmp/siv-pg.XXXXXX)"
chmod 755 "$DIR"
if [[ $(id -u) -eq 0 ]]; then chown postgres "$DIR"; fi

# A free port on loopback: nothing answers a connection to it.
PORT=""
for _ in $(seq 1 50); do
  candidate=$((20000 + RANDOM % 40000))
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$candidate") 2>/dev/null; then PORT=$candidate; break; fi
done
if [[ -z "$PORT" ]]; then echo "pg-temp: no free port found on 127.0.0.1" >&2; exit 1; fi

stop() {
  "${RUN[@]}" "$PGBIN/pg_ctl" -D "$DIR/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$DIR"
}
trap stop EXIT

"${RUN[@]}" "$PGBIN/initdb" -D "$DIR/data" -U siv -A trust -E UTF8 --no-sync >/dev/null
"${RUN[@]}" "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $PORT -k $DIR -c max_connections=200" start >/dev/null

export SIV_TEST_POSTGRES="Host=127.0.0.1;Port=$PORT;Username=siv;Database=postgres;Timeout=10"
echo "pg-temp: PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PORT (data in $DIR)"
set +e
"$@"
rc=$?
set -e
exit $rc
