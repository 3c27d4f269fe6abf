#!/usr/bin/env bash
# Install localstripe (a stateful fake of the Stripe API, the payments-adapter tests run
# against) into .cache/localstripe-venv under the repository root. Idempotent.
# It is a test server, not a dependency of Switchboard, so it gets its own venv. Its own
# start command binds every interface; tests/support/servers/localstripe_app.py starts its
# aiohttp app on 127.0.0.1 instead.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
VENV="$ROOT/.cache/localstripe-venv"
PY="${PYTHON:-python3}"

if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import localstripe.server" 2>/dev/null; then
    echo "localstripe: already installed in $VENV ($("$VENV/bin/python" -c 'from importlib.metadata import version; print(version("localstripe"))'))"
    exit 0
fi

mkdir -p "$ROOT/.cache"
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "localstripe>=1.15" >"$ROOT/.cache/localstripe-install.log" 2>&1 \
    || { echo "localstripe: pip install failed, see $ROOT/.cache/localstripe-install.log" >&2; exit 1; }
echo "localstripe: installed $("$VENV/bin/python" -c 'from importlib.metadata import version; print(version("localstripe"))') in $VENV"
