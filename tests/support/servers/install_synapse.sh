#!/usr/bin/env bash
# Install Synapse (the Matrix homeserver the chat-provider tests run against) into
# .cache/synapse-venv under the repository root. Idempotent: a second run is instant.
# Synapse is a test server, not a dependency of Switchboard, so it gets its own venv.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
VENV="$ROOT/.cache/synapse-venv"
PY="${PYTHON:-python3}"

if [ -x "$VENV/bin/python" ] && "$VENV/bin/python" -c "import synapse" 2>/dev/null; then
    echo "synapse: already installed in $VENV ($("$VENV/bin/python" -c 'from importlib.metadata import version; print(version("matrix-synapse"))'))"
    exit 0
fi

mkdir -p "$ROOT/.cache"
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip >/dev/null
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check "matrix-synapse>=1.120" >"$ROOT/.cache/synapse-install.log" 2>&1 \
    || { echo "synapse: pip install failed, see $ROOT/.cache/synapse-install.log" >&2; exit 1; }
echo "synapse: installed $("$VENV/bin/python" -c 'from importlib.metadata import version; print(version("matrix-synapse"))') in $VENV"
