#!/bin/sh
# The log server of the topology: creates the log on its first start, then
# serves it with its witnesses.
#   SIGTRAIL_DATABASE_URL  the log's store (postgres://… or sqlite://…)
#   SIGTRAIL_ORIGIN        the log's origin
#   SIGTRAIL_QUORUM        cosignatures needed per checkpoint
#   KEYS                   shared directory of keys (log.key, log.vkey, <witness>.vkey)
#   WITNESSES              "name=url …" of the witnesses to wait for and ask
#   LISTEN                 address to serve on [0.0.0.0:8080]
set -eu
: "${SIGTRAIL_DATABASE_URL:?}" "${SIGTRAIL_ORIGIN:?}" "${SIGTRAIL_QUORUM:?}" "${KEYS:?}" "${WITNESSES:?}"

if [ ! -f "$KEYS/log.key" ]; then
  sigtrail-server init --database-url "$SIGTRAIL_DATABASE_URL" \
    --origin "$SIGTRAIL_ORIGIN" --key-file "$KEYS/log.key" > "$KEYS/log.init"
  sed -n 's/^verifier key: //p' "$KEYS/log.init" > "$KEYS/log.vkey.tmp"
  mv "$KEYS/log.vkey.tmp" "$KEYS/log.vkey"
fi

set --
for witness in $WITNESSES; do
  name=${witness%%=*}
  url=${witness#*=}
  until [ -s "$KEYS/$name.vkey" ]; do sleep 0.2; done
  set -- "$@" --witness "$(cat "$KEYS/$name.vkey") $url"
done

exec sigtrail-server --database-url "$SIGTRAIL_DATABASE_URL" --key-file "$KEYS/log.key" \
  --listen "${LISTEN:-0.0.0.0:8080}" --quorum "$SIGTRAIL_QUORUM" "$@"
