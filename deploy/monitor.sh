#!/bin/sh
# The topology's monitor: follows the log, verifies every checkpoint (log
# signature, witness quorum, consistency) and every entry, and prints an
# alert (a JSON line) for every signing with a key in WATCH_FILE that the
# optional EXPECT manifest (sha256sum format) does not list, and for a fork.
#   LOG_URL          the log server
#   SIGTRAIL_QUORUM  cosignatures a checkpoint needs
#   KEYS             shared directory of keys (reads log.vkey and the witnesses' .vkey)
#   WITNESSES        "name=url …" of the witnesses
#   WATCH_FILE       verifier keys to watch, one per line (# comments allowed)
#   EXPECT           optional manifest of the artifacts meant to be signed
#   DATA             where the state and fork evidence live
#   INTERVAL         time between polls [5s]
set -eu
: "${LOG_URL:?}" "${SIGTRAIL_QUORUM:?}" "${KEYS:?}" "${WITNESSES:?}" "${WATCH_FILE:?}" "${DATA:?}"

until [ -s "$KEYS/log.vkey" ]; do sleep 0.2; done
set --
for witness in $WITNESSES; do
  name=${witness%%=*}
  until [ -s "$KEYS/$name.vkey" ]; do sleep 0.2; done
  set -- "$@" --witness "$(cat "$KEYS/$name.vkey")"
done
if [ -n "${EXPECT:-}" ]; then
  set -- "$@" --expect "$EXPECT"
fi

exec sigtrail monitor --log "$LOG_URL" --log-key "$(cat "$KEYS/log.vkey")" "$@" \
  --quorum "$SIGTRAIL_QUORUM" --watch-file "$WATCH_FILE" \
  --state "$DATA/monitor.state" --evidence-dir "$DATA" --interval "${INTERVAL:-5s}"
