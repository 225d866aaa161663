#!/bin/sh
# Prepare what Asterisk needs at run time, then run the command (Asterisk).
set -eu

# the transports' external address for softphones (pjsip.conf #tryinclude)
/usr/local/bin/sip-external.sh /run/asterisk/pjsip_external.conf

# Asterisk drops to this user (asterisk.conf runuser); it owns its state.
mkdir -p /var/lib/asterisk /var/spool/asterisk /var/log/asterisk
chown -R asterisk:asterisk /run/asterisk /var/lib/asterisk /var/spool/asterisk /var/log/asterisk

exec "$@"
