#!/bin/sh
# Before `hotline run`: drop license variables that compose passed empty (an
# unset ${HOTLINE_MODULE_KEY} in compose.yaml arrives as ""), so that a key
# file or the config file still counts; then put the default prompts into the
# sounds volume that Asterisk reads.
set -eu

for name in HOTLINE_LICENSE__MODULE_KEY HOTLINE_LICENSE__SERVER_KEY \
    HOTLINE_LICENSE__MODULE_KEY_FILE HOTLINE_LICENSE__SERVER_KEY_FILE; do
    eval "value=\${$name:-}"
    if [ -z "$value" ]; then
        unset "$name"
    fi
done

if [ "${1:-}" = "hotline" ] && [ "${2:-}" = "run" ]; then
    hotline prompts install-defaults \
        --sounds-dir "${HOTLINE_ASTERISK__SOUNDS_DIR:-/var/lib/hotline/sounds}" >/dev/null
fi

exec "$@"
