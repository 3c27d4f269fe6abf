#!/usr/bin/env bash
# Installs the peers the mail benchmarks compare against: mbsync (Debian `isync`) and neomutt.
# Idempotent and fast when already installed. Needs dovecot too (tests/support/servers/install_mail.sh).
set -euo pipefail
if command -v mbsync >/dev/null 2>&1 && command -v neomutt >/dev/null 2>&1 && command -v tmux >/dev/null 2>&1; then
    echo "bench peers: $(mbsync --version), neomutt and tmux already installed"
    exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
if ! apt-cache show isync >/dev/null 2>&1; then
    $SUDO apt-get update -qq
fi
$SUDO apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends isync neomutt tmux >/dev/null
echo "bench peers: installed $(mbsync --version), neomutt, tmux"
