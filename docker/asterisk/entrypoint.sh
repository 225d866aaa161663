#!/bin/sh
# Prepare what Asterisk needs at run time, then run the command (Asterisk).
#
# SIP_EXTERNAL_ADDRESS: the address softphones use to reach this container
# (the Docker host's LAN address, or 127.0.0.1 for a softphone on the host
# with Docker Desktop).  When set, pjsip.conf's transports announce it in SIP
# and SDP, so that media flows through the published ports.
set -eu

mkdir -p /run/asterisk
external=/run/asterisk/pjsip_external.conf
: > "$external"
if [ -n "${SIP_EXTERNAL_ADDRESS:-}" ]; then
    cat > "$external" <<CONF
external_media_address = ${SIP_EXTERNAL_ADDRESS}
external_signaling_address = ${SIP_EXTERNAL_ADDRESS}
; every peer counts as outside: softphones reach us through Docker's port
; forwarding, whose source address lies on the container's own network
local_net = 127.0.0.1/32
CONF
fi

# Asterisk drops to this user (asterisk.conf runuser); it owns its state.
mkdir -p /var/lib/asterisk /var/spool/asterisk /var/log/asterisk
chown -R asterisk:asterisk /run/asterisk /var/lib/asterisk /var/spool/asterisk /var/log/asterisk

exec "$@"
