#!/bin/sh
# Write the pjsip.conf include that announces SIP_EXTERNAL_ADDRESS (the
# address softphones use to reach this container: the Docker host's LAN
# address, or 127.0.0.1 for a softphone on a Docker Desktop host) in SIP and
# SDP, so that media flows through the published ports.  Without the
# variable the include is empty.  Usage: sip-external.sh FILE
set -eu

file=${1:?usage: sip-external.sh FILE}
mkdir -p "$(dirname "$file")"
: > "$file"
if [ -n "${SIP_EXTERNAL_ADDRESS:-}" ]; then
    cat > "$file" <<CONF
external_media_address = ${SIP_EXTERNAL_ADDRESS}
external_signaling_address = ${SIP_EXTERNAL_ADDRESS}
; every peer counts as outside: softphones reach us through Docker's port
; forwarding, whose source address lies on the container's own network
local_net = 127.0.0.1/32
CONF
fi
