"""A throw-away MariaDB server on 127.0.0.1 for the sql adapter's MySQL-family tests.

``mariadb`` (session scope) makes a data folder with ``mariadb-install-db``, starts
``mariadbd --no-defaults`` on a free port (socket, pid and log in the same folder,
networking on 127.0.0.1 only) and stops it by pid. Under root the server runs as
``nobody``. The adapter logs in as ``support_ro``, a user with a password that may
write (so only the adapter's read-only session can be what stops a write).
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.servers.common import free_port, missing, server_folder, session_server, stop, wait_for_port

INSTALL_HINT = "run tests/support/servers/install_mariadb.sh (Debian's mariadb-server package)"
RO_USER, RO_PASSWORD = "support_ro", "ro-secret"


@dataclass
class MariaDB:
    port: int
    folder: Path

    def dsn(self, database: str) -> str:
        return f"mysql://{RO_USER}@127.0.0.1:{self.port}/{database}"

    def admin(self, database: str | None = None):
        import pymysql

        return pymysql.connect(host="127.0.0.1", port=self.port, user="root", password="", database=database,
                               autocommit=True)

    def fresh_database(self, name: str, statements: list[str]) -> str:
        """A new database made by ``statements``; its DSN for the adapter's user."""
        con = self.admin()
        try:
            with con.cursor() as cur:
                cur.execute(f"DROP DATABASE IF EXISTS `{name}`")
                cur.execute(f"CREATE DATABASE `{name}`")
                cur.execute(f"GRANT ALL ON `{name}`.* TO '{RO_USER}'@'127.0.0.1'")
                cur.execute(f"USE `{name}`")
                for sql in statements:
                    cur.execute(sql)
        finally:
            con.close()
        return self.dsn(name)


def _binary(name: str) -> str | None:
    return shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None)


@pytest.fixture(scope="session")
def mariadb():
    install_db, server_bin = _binary("mariadb-install-db"), _binary("mariadbd")
    if not install_db or not server_bin:
        missing(f"MariaDB is not installed: {INSTALL_HINT}")
    folder, data, user = server_folder("sb-maria-")
    user_args = [f"--user={user}"] if user else []
    subprocess.run([install_db, "--no-defaults", f"--datadir={data}", "--auth-root-authentication-method=normal",
                    "--skip-test-db", *user_args], check=True, capture_output=True, timeout=180)
    port = free_port()
    log = open(folder / "server.err", "wb")
    proc = subprocess.Popen([server_bin, "--no-defaults", f"--datadir={data}", f"--socket={folder}/sock",
                             f"--pid-file={folder}/pid", f"--port={port}", "--bind-address=127.0.0.1",
                             "--skip-name-resolve", "--innodb-buffer-pool-size=16M", *user_args],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log)
    session_server(proc)
    try:
        wait_for_port(port, timeout=60, proc=proc)
        server = MariaDB(port, folder)
        con = server.admin()
        with con.cursor() as cur:
            cur.execute(f"CREATE USER '{RO_USER}'@'127.0.0.1' IDENTIFIED BY '{RO_PASSWORD}'")
        con.close()
        yield server
    finally:
        stop(proc)
        log.close()
        shutil.rmtree(folder, ignore_errors=True)
