#!/bin/bash
# redbear-greeter Debian post-remove (electron-builder `deb.afterRemove`). $1 is dpkg's
# action: remove, purge, upgrade, failed-upgrade, abort-install, abort-upgrade, disappear.
# Tested by test/packaging/deb-scripts.test.ts with stub commands.
set -e

if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    systemctl daemon-reload || true
fi

if [ "$1" = "purge" ]; then
    # The kiosk UI's profile only. /var/lib/redbear/authd and /var/lib/redbear/keystore hold
    # the wrapped keys of the users' encrypted homes: deleting them would make those homes
    # unreadable, so they stay (docs/install.md says how to remove them by hand). The
    # `greeter` system user stays too, as Debian policy recommends.
    rm -rf /var/lib/redbear/greeter /run/redbear-greeter
fi
exit 0
