"""Helpers shared by the real-server fixtures: free ports, readiness, skip-or-fail.

Outside CI a server that is not installed skips its tests with the reason; with
CI=true it is a failure, because the README's test command installs every server.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
TOOLS = ROOT / ".cache"  # where ./dev installs test servers that are not Debian packages


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(reason: str):
    """Skip (developer machine) or fail (CI) because a server cannot be started."""
    if in_ci():
        pytest.fail(f"{reason} (CI=true: the test command must install it)", pytrace=False)
    pytest.skip(reason)


def need_binary(name: str, hint: str) -> str:
    path = shutil.which(name) or next((str(p) for p in (Path("/usr/sbin") / name, Path("/usr/bin") / name) if p.exists()), None)
    if not path:
        missing(f"{name} is not installed: {hint}")
    return path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float = 20.0, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout}s")


def server_folder(prefix: str) -> tuple[Path, Path, str | None]:
    """(folder, folder/data, user) for a database server that refuses to run as root.

    Under root the server runs as ``nobody``: both folders belong to it and the folder is
    0755 (``mkdtemp`` makes 0700, which that user could not enter). ``user`` is None
    when we are not root and the server runs as us."""
    import pwd
    import tempfile

    user = "nobody" if os.geteuid() == 0 else None
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(0o755)
    data = folder / "data"
    data.mkdir()
    if user:
        entry = pwd.getpwnam(user)
        for p in (folder, data):
            os.chown(p, entry.pw_uid, entry.pw_gid)
    return folder, data, user


GRACE = 3.0  # s a throw-away test server gets to exit on SIGTERM before it is killed
_SESSION: list[tuple[subprocess.Popen, bool]] = []  # servers that live as long as the test session


def session_server(proc: subprocess.Popen, *, group: bool = False) -> subprocess.Popen:
    """Mark ``proc`` as a server for the whole session: when the first of them is stopped
    (the session is ending), all of them get SIGTERM at once and exit side by side."""
    _SESSION.append((proc, group))
    return proc


def _signal(proc: subprocess.Popen, sig: int, group: bool) -> None:
    try:
        if group:
            os.killpg(proc.pid, sig)
        else:
            proc.send_signal(sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop(proc: subprocess.Popen, grace: float = GRACE, *, group: bool = False) -> None:
    """SIGTERM, then SIGKILL if it lingers past ``grace``; stopped by its pid.

    ``group``: the server was started in a session of its own (``start_new_session``)
    and forks (workers, per-connection processes): signal its whole process group, and
    kill what is left of the group once the leader is gone."""
    if any(p is proc for p, _ in _SESSION):
        while _SESSION:
            other, other_group = _SESSION.pop()
            if other.poll() is None:
                _signal(other, signal.SIGTERM, other_group)
    if proc.poll() is None:
        _signal(proc, signal.SIGTERM, group)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            _signal(proc, signal.SIGKILL, group)
            proc.wait(timeout=5)
    if group:
        _signal(proc, signal.SIGKILL, group)  # children that outlive the leader (open sessions, forked workers)
