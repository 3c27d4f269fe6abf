#!/usr/bin/env bash
# Installs MariaDB (the MySQL-family company database the sql-adapter tests run against)
# from Debian's packages. Idempotent. Installing starts no service here; the tests start
# a throw-away server of their own on a free port.
set -euo pipefail
if command -v mariadb-install-db >/dev/null 2>&1 && { [ -x /usr/sbin/mariadbd ] || command -v mariadbd >/dev/null 2>&1; }; then
    echo "mariadb: $(/usr/sbin/mariadbd --version 2>/dev/null | awk '{print $3}') already installed"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-cache show mariadb-server >/dev/null 2>&1 || [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v lock)" ]; then
    $SUDO apt-get update -qq
fi
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends mariadb-server >/dev/null
echo "mariadb: installed $(/usr/sbin/mariadbd --version | awk '{print $3}')"
