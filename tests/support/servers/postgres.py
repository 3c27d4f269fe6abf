"""A throw-away PostgreSQL cluster on 127.0.0.1 for the sql adapter's tests.

``postgres`` (session scope) runs Debian's ``initdb`` into a fresh folder, starts
``pg_ctl`` on a free port (socket in the same folder, nothing else listening) and
stops it with ``pg_ctl stop -m fast`` at the end. PostgreSQL refuses to run as root,
so under root the cluster belongs to ``nobody`` (its folder is made 0755 so that user
can reach it). ``admin()`` connects as the superuser, who loads the shop schema;
the adapter logs in as ``support_ro``, a role with a password that may write
(so only the adapter's read-only session can be what stops a write).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.servers.common import free_port, missing, server_folder

INSTALL_HINT = "run tests/support/servers/install_postgres.sh (Debian's postgresql package)"
RO_USER, RO_PASSWORD = "support_ro", "ro-secret"


def _bin(name: str) -> str | None:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"), key=lambda p: int(p.parts[-3]))
    return str(found[-1]) if found else shutil.which(name)


@dataclass
class Postgres:
    port: int
    folder: Path
    superuser: str = "shop_admin"

    def dsn(self, user: str = RO_USER, database: str = "shop") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def admin(self, database: str = "postgres"):
        import psycopg

        return psycopg.connect(self.dsn(self.superuser, database), autocommit=True)

    def fresh_database(self, name: str, schema: str) -> str:
        """A new database holding ``schema`` (SQL), readable by the read-only role; its DSN for that role."""
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        with self.admin(name) as conn:
            conn.execute(schema)
            # All rights: a write the adapter attempts must be refused by its read-only session, not by grants.
            conn.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {RO_USER}")
        return self.dsn(database=name)


def _as_owner(cmd: list[str], user: str | None) -> list[str]:
    return ["runuser", "-u", user, "--", *cmd] if user else cmd


@pytest.fixture(scope="session")
def postgres():
    initdb, pg_ctl = _bin("initdb"), _bin("pg_ctl")
    if not initdb or not pg_ctl:
        missing(f"PostgreSQL is not installed: {INSTALL_HINT}")
    folder, data, user = server_folder("sb-pg-")
    server = Postgres(free_port(), folder)
    subprocess.run(_as_owner([initdb, "-D", str(data), "-A", "trust", "-U", server.superuser], user),
                   check=True, capture_output=True, timeout=120)
    # trust for the superuser on the socket and loopback; the read-only role must give its password.
    (data / "pg_hba.conf").write_text(
        f"local all {server.superuser} trust\n"
        f"host all {server.superuser} 127.0.0.1/32 trust\n"
        "host all all 127.0.0.1/32 scram-sha-256\n")
    log = folder / "server.log"
    subprocess.run(_as_owner([pg_ctl, "-D", str(data), "-l", str(log), "-w", "-t", "60",
                              "-o", f"-k {folder} -h 127.0.0.1 -p {server.port} -c fsync=off"], user) + ["start"],
                   check=True, capture_output=True, timeout=90)
    try:
        with server.admin() as conn:
            conn.execute(f"CREATE ROLE {RO_USER} LOGIN PASSWORD '{RO_PASSWORD}'")
        yield server
    finally:
        subprocess.run(_as_owner([pg_ctl, "-D", str(data), "-m", "fast", "-w", "stop"], user),
                       capture_output=True, timeout=60)
        shutil.rmtree(folder, ignore_errors=True)
