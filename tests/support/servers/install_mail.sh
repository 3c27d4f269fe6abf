#!/usr/bin/env bash
# Installs the mail test servers (dovecot IMAP + LMTP) used by tests/providers/imap/.
# Idempotent and fast when already installed. aiosmtpd (the SMTP side) comes from pip.
set -euo pipefail
if command -v dovecot >/dev/null 2>&1 && [ -e /usr/lib/dovecot/imap ] && [ -e /usr/lib/dovecot/lmtp ]; then
    echo "mail test servers: dovecot $(dovecot --version | cut -d' ' -f1) already installed"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-cache show dovecot-imapd >/dev/null 2>&1 || [ -z "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v lock)" ]; then
    $SUDO apt-get update -qq
fi
$SUDO apt-get install -y -qq --no-install-recommends dovecot-imapd dovecot-lmtpd >/dev/null
echo "mail test servers: installed dovecot $(dovecot --version | cut -d' ' -f1)"
