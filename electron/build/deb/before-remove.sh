#!/bin/bash
# redbear-greeter Debian pre-remove (passed to fpm as --before-remove; no macro substitution).
# On removal (not on upgrade) stop the stack and drop the display-manager alias.
# User sessions survive: redbear-sessiond.service uses KillMode=process.
# Tested by test/packaging/deb-scripts.test.ts with stub commands.
set -e

if [ "$1" = "remove" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    systemctl disable redbear-greeterd.service >/dev/null 2>&1 || true
    systemctl stop redbear-greeterd.service redbear-sessiond.service redbear-authd.service redbear-keystored.service || true
fi
exit 0
