#!/usr/bin/env bash
# Re-captures the client and server flights in this folder (see README.md). Each run gives new
# randoms and key shares, so the files change; the tests assert only what the flights must hold.
# Needs openssl (3.0) and gnutls-cli (Debian gnutls-bin). Uses loopback ports 47001 and 47002.
set -euo pipefail
cd "$(dirname "$0")"
PSK=000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
ID=3GPP-AKMA0.abc@5gc.mnc070.mcc901.3gppnetwork.org
SNI=app.example.com
SRV=47001 PROXY=47002

# capture NAME "SERVER ARGS" CLIENT-COMMAND...: one connection through record_proxy.py.
capture() {
  local name=$1 server_args=$2; shift 2
  # shellcheck disable=SC2086
  sleep 4 | openssl s_server -accept "$SRV" -naccept 1 -nocert -psk "$PSK" $server_args >/dev/null 2>&1 &
  local spid=$!
  sleep 0.5
  python3 record_proxy.py "$PROXY" "$SRV" "$name" &
  local ppid=$!
  sleep 0.5
  (printf 'ping\n'; sleep 1) | "$@" >/dev/null 2>&1 || true
  wait "$ppid" || true
  wait "$spid" || true
  echo "$name: client $(stat -c %s "$name-client.bin") bytes, server $(stat -c %s "$name-server.bin") bytes"
}

capture openssl-tls13 "-tls1_3 -psk_identity $ID" \
  openssl s_client -connect 127.0.0.1:$PROXY -tls1_3 -psk "$PSK" -psk_identity "$ID" -servername "$SNI"
# The server offers only P-256, the client's first key share is X25519: a HelloRetryRequest.
capture openssl-tls13-hrr "-tls1_3 -psk_identity $ID -groups P-256" \
  openssl s_client -connect 127.0.0.1:$PROXY -tls1_3 -psk "$PSK" -psk_identity "$ID" -servername "$SNI"
capture openssl-tls12-dhe-psk "-tls1_2 -psk_hint 3GPP-AKMA -cipher DHE-PSK-AES128-GCM-SHA256" \
  openssl s_client -connect 127.0.0.1:$PROXY -tls1_2 -cipher DHE-PSK-AES128-GCM-SHA256 -psk "$PSK" -psk_identity "$ID" -servername "$SNI"
capture gnutls-tls13 "-tls1_3 -psk_identity $ID" \
  gnutls-cli --port $PROXY --sni-hostname "$SNI" --pskusername "$ID" --pskkey "$PSK" \
  --priority 'NORMAL:-VERS-ALL:+VERS-TLS1.3:+DHE-PSK:+ECDHE-PSK:+PSK' 127.0.0.1
capture gnutls-tls13-psk-ke "-tls1_3 -psk_identity $ID -allow_no_dhe_kex" \
  gnutls-cli --port $PROXY --sni-hostname "$SNI" --pskusername "$ID" --pskkey "$PSK" \
  --priority 'NORMAL:-VERS-ALL:+VERS-TLS1.3:-KX-ALL:+PSK' 127.0.0.1
