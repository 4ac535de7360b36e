#!/usr/bin/env bash
# Start a throwaway PostgreSQL server on 127.0.0.1:55432 for the tests (trust auth, data in /tmp).
# Prints the URL to use as LABELDESK_TEST_PG.
set -euo pipefail
PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
if [ -z "$PGBIN" ]; then
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
fi
DATA=/tmp/labeldesk-pg
PORT=55432
if ! "$PGBIN/pg_isready" -h 127.0.0.1 -p $PORT -q; then
  rm -rf "$DATA"
  mkdir -p "$DATA"
  chown postgres "$DATA"
  runuser -u postgres -- "$PGBIN/initdb" -D "$DATA" -A trust -U postgres >/dev/null
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$DATA" -l "$DATA/server.log" -w \
    -o "-p $PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
fi
echo "postgresql://postgres@127.0.0.1:$PORT/postgres"
