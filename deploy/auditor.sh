#!/bin/sh
# The topology's auditor: re-verifies the whole log from its tiles (root,
# every entry's signature, consistency with the last audit, the witness
# quorum) every INTERVAL seconds, resuming from its state file.
#   LOG_URL          the log server
#   SIGTRAIL_QUORUM  cosignatures a checkpoint needs
#   KEYS             shared directory of keys (reads log.vkey and the witnesses' .vkey)
#   WITNESSES        "name=url …" of the witnesses
#   DATA             where the state file lives
#   INTERVAL         seconds between audits [30]
set -eu
: "${LOG_URL:?}" "${SIGTRAIL_QUORUM:?}" "${KEYS:?}" "${WITNESSES:?}" "${DATA:?}"

until [ -s "$KEYS/log.vkey" ]; do sleep 0.2; done
set --
for witness in $WITNESSES; do
  name=${witness%%=*}
  until [ -s "$KEYS/$name.vkey" ]; do sleep 0.2; done
  set -- "$@" --witness "$(cat "$KEYS/$name.vkey")"
done

while true; do
  sigtrail audit --log "$LOG_URL" --log-key "$(cat "$KEYS/log.vkey")" "$@" \
    --quorum "$SIGTRAIL_QUORUM" --state "$DATA/audit.state" --json || echo "audit failed" >&2
  sleep "${INTERVAL:-30}"
done
