#!/usr/bin/env bash
# Installs Request Tracker 5 (the helpdesk the rt adapter's tests run against) from Debian.
# Idempotent and instant when installed. It pulls exim4 as the MTA; nothing needs it running,
# and apt here starts no services. Each test run makes its own SQLite database in a temp folder.
set -euo pipefail
SERVER=/usr/share/request-tracker5/libexec/rt-server
if [ -x "$SERVER" ] && command -v rt-setup-database-5 >/dev/null 2>&1 && dpkg -s rt5-db-sqlite >/dev/null 2>&1; then
    echo "rt: request-tracker5 $(dpkg-query -W -f='${Version}' request-tracker5) already installed"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
PACKAGES="request-tracker5 rt5-db-sqlite rt5-standalone rt5-clients"
if ! apt-cache show request-tracker5 >/dev/null 2>&1; then
    $SUDO apt-get -o DPkg::Lock::Timeout=600 update -qq
fi
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $PACKAGES >/dev/null
echo "rt: installed request-tracker5 $(dpkg-query -W -f='${Version}' request-tracker5)"
