#!/usr/bin/env bash
# Installs PostgreSQL (the company database the sql-adapter tests run against) from
# Debian's packages when no initdb/pg_ctl is found. Idempotent. Installing starts no
# service here; the tests start a throw-away cluster of their own on a free port.
set -euo pipefail
if ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1; then
    echo "postgresql: $(ls -d /usr/lib/postgresql/*/ 2>/dev/null | xargs -n1 basename | sort -V | tail -1 || true) already installed"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-cache show postgresql >/dev/null 2>&1 || [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v lock)" ]; then
    $SUDO apt-get update -qq
fi
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends postgresql >/dev/null
echo "postgresql: installed $(ls -d /usr/lib/postgresql/*/ | xargs -n1 basename | sort -V | tail -1)"
