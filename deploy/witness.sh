#!/bin/sh
# One witness of the topology: makes its key on its first start, waits for
# the log's key, then cosigns that log.
#   NAME             the witness's name (its key name is NAME.example)
#   SIGTRAIL_ORIGIN  the origin of the log it cosigns
#   KEYS             shared directory of keys (writes NAME.key, NAME.vkey; reads log.vkey)
#   DATA             where its own SQLite store lives
#   LISTEN           address to serve on [0.0.0.0:8081]
set -eu
: "${NAME:?}" "${SIGTRAIL_ORIGIN:?}" "${KEYS:?}" "${DATA:?}"

if [ ! -f "$KEYS/$NAME.key" ]; then
  sigtrail-witness keygen --name "$NAME.example" --out "$KEYS/$NAME.key" > "$KEYS/$NAME.vkey.tmp"
  mv "$KEYS/$NAME.vkey.tmp" "$KEYS/$NAME.vkey"
fi
until [ -s "$KEYS/log.vkey" ]; do sleep 0.2; done

exec sigtrail-witness --key-file "$KEYS/$NAME.key" \
  --log "$SIGTRAIL_ORIGIN $(cat "$KEYS/log.vkey")" \
  --database-url "sqlite://$DATA/$NAME.db" --listen "${LISTEN:-0.0.0.0:8081}"
