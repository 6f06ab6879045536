#!/bin/bash
# redbear-greeter Debian post-install (electron-builder `deb.afterInstall`; electron-builder
# substitutes the ${executable} and ${sanitizedProductName} macros before packaging).
# Tested by test/packaging/deb-scripts.test.ts with stub commands.
set -e

# Chromium sandbox of the kiosk UI: SUID helper only where user namespaces do not work
# (same policy as electron-builder's own template).
if ! { [[ -L /proc/self/ns/user ]] && unshare --user true; } >/dev/null 2>&1; then
    chmod 4755 '/opt/${sanitizedProductName}/chrome-sandbox' || true
else
    chmod 0755 '/opt/${sanitizedProductName}/chrome-sandbox' || true
fi

# The unprivileged `greeter` user and group (runs the UI; group of the greeterd socket).
if command -v systemd-sysusers >/dev/null 2>&1; then
    systemd-sysusers /usr/lib/sysusers.d/redbear-greeter.conf
elif ! getent passwd greeter >/dev/null 2>&1; then
    adduser --system --group --home /var/lib/redbear/greeter --no-create-home \
        --shell /usr/sbin/nologin --gecos 'Red Bear greeter' greeter
fi

# Runtime and state directories (/run/redbear-greeter, /var/lib/redbear/*, /state/secure/home).
if command -v systemd-tmpfiles >/dev/null 2>&1; then
    systemd-tmpfiles --create /usr/lib/tmpfiles.d/redbear-greeter.conf || true
fi

if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
    systemctl daemon-reload || true
fi

# Not made the display manager automatically: see /usr/share/doc or docs/install.md
# ("systemctl disable <current DM>; systemctl enable redbear-greeterd.service").
echo "redbear-greeter: installed; enable with: systemctl enable redbear-greeterd.service (see docs/install.md)"
exit 0
