#!/bin/bash
# Entry point of the locally built PostgreSQL image (scripts/compose-up-local.sh): honours the official image's
# POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB, initialises the data directory on first start, and runs the
# server in the foreground, listening on every address of the container's network.
set -euo pipefail
PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
DATA=/var/lib/postgresql/data
USER_NAME=${POSTGRES_USER:-postgres}
mkdir -p "$DATA" /run/postgresql
chown -R postgres:postgres "$DATA" /run/postgresql
if [[ ! -s "$DATA/PG_VERSION" ]]; then
  pwfile=$(mktemp); echo "${POSTGRES_PASSWORD:-postgres}" > "$pwfile"; chown postgres "$pwfile"
  runuser -u postgres -- "$PGBIN/initdb" -D "$DATA" -U "$USER_NAME" --pwfile="$pwfile" -A scram-sha-256 -E UTF8 >/dev/null
  rm -f "$pwfile"
  echo "host all all 0.0.0.0/0 scram-sha-256" >> "$DATA/pg_hba.conf"
  echo "host all all 127.0.0.1/32 trust" >> "$DATA/pg_hba.conf"
  # Like the official image: POSTGRES_DB (default: the user's name) exists after the first start.
  DB_NAME=${POSTGRES_DB:-$USER_NAME}
  if [[ "$DB_NAME" != "postgres" ]]; then
    echo "CREATE DATABASE \"$DB_NAME\" OWNER \"$USER_NAME\";" | runuser -u postgres -- "$PGBIN/postgres" --single -D "$DATA" postgres >/dev/null
  fi
fi
exec runuser -u postgres -- "$PGBIN/postgres" -D "$DATA" -c listen_addresses='*'
