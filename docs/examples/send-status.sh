#!/usr/bin/env bash
# Sends an SMS, reads its status and shows how a refusal looks, with curl and plain-text answers
# (the HTTP status is the protocol code; the body is "OK\n<id>" or the reason).
#   SMSGW_BASE_URL (default http://127.0.0.1:8080), SMSGW_LOGIN, SMSGW_PASSWORD,
#   SMSGW_TO (default 79036550550), SMSGW_TEXT (default "Hello from curl")
set -euo pipefail
base="${SMSGW_BASE_URL:-http://127.0.0.1:8080}"
login="${SMSGW_LOGIN:?set SMSGW_LOGIN}"
password="${SMSGW_PASSWORD:?set SMSGW_PASSWORD}"

# call PATH PARAM=VALUE...: sets $code (HTTP status = protocol code) and $body. --data-urlencode
# encodes each value (a "+" in a number must reach the platform as %2B).
call() {
  local path="$1"; shift
  local args=(--silent --show-error -G "$base$path" --data-urlencode "serviceId=$login" --data-urlencode "pass=$password")
  for p in "$@"; do args+=(--data-urlencode "$p"); done
  local out
  out=$(curl "${args[@]}" --write-out '\n%{http_code}')
  code="${out##*$'\n'}"
  body="${out%$'\n'*}"
}

call /send "clientId=${SMSGW_TO:-79036550550}" "message=${SMSGW_TEXT:-Hello from curl}"
if [ "$code" != 200 ]; then echo "send failed: $code $body" >&2; exit 1; fi
id="${body#OK$'\n'}"          # the body is "OK", a newline, the message id
echo "sent: $id"

call /status "transactionId=$id"
if [ "$code" != 200 ]; then echo "status failed: $code $body" >&2; exit 1; fi
# One line per id: <transactionId>;<status>;<unifiedExtStatus>;<updatedAt>;<segments>
IFS=';' read -r _ status _ <<<"$(printf '%s\n' "$body" | sed -n 2p)"
echo "status: $id $status"

# A number that is valid nowhere: refused, nothing stored. 4xx: fix the request, do not retry.
call /send "clientId=12345" "message=This one is refused"
if [ "$code" = 200 ]; then echo "expected a refusal, got $body" >&2; exit 1; fi
echo "refused: $code $body"
