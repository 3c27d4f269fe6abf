"""Real mail servers on 127.0.0.1 for the email adapter's tests.

- ``dovecot`` (session): an unprivileged dovecot instance (IMAP + LMTP) in its own
  folder, with users added per test (:meth:`Dovecot.add_user`).
- ``smtp_server`` (session): an aiosmtpd server with AUTH PLAIN/LOGIN, run as its
  own process (``python -m tests.support.servers.mail smtp ...``), that delivers every
  accepted message into dovecot over LMTP, so a reply really lands in the
  customer's mailbox. :func:`start_smtp` starts one of a test's own, made slow at
  chosen steps of a send (``slow={"quit": "3:once"}``), for the kill -9 tests.
- :func:`start_dovecot` for a test that needs a server of its own (to kill it).

Outside CI a missing dovecot skips with the reason; with CI=true it fails.
Install it with ``tests/support/servers/install_mail.sh``.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path

import pytest

from tests.support.servers.common import ROOT, free_port, missing, need_binary, session_server, stop, wait_for_port

HINT = "run tests/support/servers/install_mail.sh (apt: dovecot-imapd dovecot-lmtpd)"
PASSWORD = "s3cret-pw"

_CONF = """\
instance_name = {instance}
base_dir = {dir}/run
state_dir = {dir}/state
log_path = {dir}/log/dovecot.log
info_log_path = {dir}/log/info.log
listen = 127.0.0.1
protocols = imap lmtp
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_max_userip_connections = 200
mail_fsync = never
passdb {{
  driver = static
  args = password={password}
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={dir}/mail/%d/%n allow_all_users=yes
}}
mail_location = maildir:~/Maildir
namespace inbox {{
  inbox = yes
  separator = /
{sent_block}}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp_port}
  }}
}}
"""


@dataclass
class Dovecot:
    dir: Path
    imap_port: int
    lmtp_port: int
    proc: subprocess.Popen | None = None
    users: dict[str, str] = field(default_factory=dict)

    @property
    def conf(self) -> Path:
        return self.dir / "dovecot.conf"

    def start(self) -> None:
        binary = need_binary("dovecot", HINT)
        err = open(self.dir / "log" / "stderr", "ab")
        self.proc = subprocess.Popen([binary, "-F", "-c", str(self.conf)], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)
        err.close()
        try:
            wait_for_port(self.imap_port, proc=self.proc)
            wait_for_port(self.lmtp_port, proc=self.proc)
        except Exception as exc:
            log = (self.dir / "log" / "dovecot.log").read_text(errors="replace")[-2000:] if \
                (self.dir / "log" / "dovecot.log").exists() else ""
            self.stop()
            raise RuntimeError(f"dovecot did not start: {exc}\n{log}") from None

    def stop(self) -> None:
        """SIGTERM to the master (its children follow); SIGKILL only if it lingers."""
        if self.proc is None:
            return
        proc, self.proc = self.proc, None
        stop(proc, group=True)  # sessions already open (imap processes) outlive the master: the group goes too

    def add_user(self, prefix: str = "user") -> str:
        """A new, empty mailbox ``prefix-xxxx@example.test``; returns the address.

        Every address logs in with :data:`PASSWORD` (a static passdb: dovecot's
        passwd-file does not notice additions made within the same second)."""
        address = f"{prefix}-{uuid.uuid4().hex[:8]}@example.test"
        self.users[address] = PASSWORD
        return address

    def write_maildir(self, user: str, mail) -> None:
        """Put many messages straight into ``user``'s Maildir, much faster than APPEND:
        ``mail`` yields (folder, raw bytes, arrival datetime, seen). Dovecot indexes them
        on the next SELECT; each file's time is its arrival (INTERNALDATE)."""
        local, domain = user.split("@")
        root = self.dir / "mail" / domain / local / "Maildir"
        folders = set()
        for i, (folder, raw, when, seen) in enumerate(mail):
            sub = root if folder.upper() == "INBOX" else root / f".{folder}"
            if folder not in folders:
                for leaf in ("cur", "new", "tmp"):
                    (sub / leaf).mkdir(parents=True, exist_ok=True)
                folders.add(folder)
            stamp = int(when.timestamp())
            path = sub / "cur" / f"{stamp}.M{i:07d}P1.sb,S={len(raw)}:2,{'S' if seen else ''}"
            path.write_bytes(raw)
            os.utime(path, (stamp, stamp))
        subscribed = sorted(f for f in folders if f.upper() != "INBOX")
        (root / "subscriptions").write_text("".join(f"{f}\n" for f in subscribed))
        subprocess.run(["chown", "-R", "nobody:nogroup", str(self.dir / "mail")], check=True)

    def deliver(self, sender: str, recipients: list[str], raw: bytes) -> None:
        with smtplib.LMTP("127.0.0.1", self.lmtp_port, timeout=10) as lmtp:
            lmtp.sendmail(sender, recipients, raw)

    def imap(self, user: str):
        """A logged-in IMAPClient for ``user`` (the caller logs out)."""
        from imapclient import IMAPClient

        client = IMAPClient("127.0.0.1", port=self.imap_port, ssl=False, timeout=10)
        client.login(user, PASSWORD)
        return client


SENT_BLOCK = """\
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
"""


def start_dovecot(folder: Path | None = None, *, with_sent: bool = True) -> Dovecot:
    """A running dovecot in ``folder`` (a fresh folder in /tmp by default).

    ``with_sent=False``: new mailboxes have no Sent folder (Debian's default setup).

    Not under pytest's ``tmp_path``: pytest resets its parent to mode 0700, which the
    unprivileged mail processes cannot enter."""
    need_binary("dovecot", HINT)
    base = Path(folder) if folder else Path(tempfile.mkdtemp(prefix="sb-dovecot-"))
    for sub in ("run", "state", "log", "mail"):
        (base / sub).mkdir(parents=True, exist_ok=True)
    # dovecot's login processes must traverse every folder on the path (mkdtemp makes 0700).
    for p in [base, *base.parents]:
        if p == Path("/"):
            break
        try:
            if (p.stat().st_mode & 0o111) != 0o111:
                p.chmod(p.stat().st_mode | 0o755)
        except PermissionError:
            pass
    shutil.chown(base / "mail", "nobody", "nogroup")
    dv = Dovecot(dir=base, imap_port=free_port(), lmtp_port=free_port())
    dv.conf.write_text(_CONF.format(instance=f"sbtest-{uuid.uuid4().hex[:8]}", dir=base,
                                    imap_port=dv.imap_port, lmtp_port=dv.lmtp_port, password=PASSWORD,
                                    sent_block=SENT_BLOCK if with_sent else ""))
    dv.start()
    return dv


@pytest.fixture(scope="session")
def dovecot():
    if not (shutil.which("dovecot") or Path("/usr/sbin/dovecot").exists()):
        missing(f"dovecot is not installed: {HINT}")
    if not Path("/usr/lib/dovecot/lmtp").exists():
        missing(f"dovecot-lmtpd is not installed: {HINT}")
    dv = start_dovecot()
    session_server(dv.proc, group=True)
    try:
        yield dv
    finally:
        dv.stop()
        shutil.rmtree(dv.dir, ignore_errors=True)


@dataclass
class SmtpServer:
    port: int
    proc: subprocess.Popen


def start_smtp(dv: Dovecot, *, slow: dict[str, str] | None = None, trace: Path | None = None) -> SmtpServer:
    """An SMTP server process relaying into ``dv``; ``slow`` maps steps (:data:`SMTP_STEPS`)
    to ``"SECONDS"`` or ``"SECONDS:once"``; each slow step is logged to ``trace`` as it starts."""
    port = free_port()
    cmd = [sys.executable, "-m", "tests.support.servers.mail", "smtp", str(port), str(dv.lmtp_port), PASSWORD]
    for step, spec in (slow or {}).items():
        cmd += ["--slow", f"{step}:{spec}"]
    if trace is not None:
        cmd += ["--trace", str(trace)]
    log = open(dv.dir / "log" / "smtp.log", "ab")
    proc = subprocess.Popen(cmd, cwd=str(ROOT), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                            start_new_session=True)
    log.close()
    try:
        wait_for_port(port, proc=proc)
    except Exception:
        stop_smtp(SmtpServer(port=port, proc=proc))
        raise
    return SmtpServer(port=port, proc=proc)


def stop_smtp(server: SmtpServer) -> None:
    stop(server.proc, group=True)


@pytest.fixture(scope="session")
def smtp_server(dovecot):
    try:
        import aiosmtpd  # noqa: F401
    except ImportError:
        missing("aiosmtpd is not installed: pip install 'aiosmtpd>=1.4'")
    server = start_smtp(dovecot)
    session_server(server.proc, group=True)
    try:
        yield server
    finally:
        stop_smtp(server)


# --------------------------------------------------------------------------- playing both sides


class ImapHarness:
    """A fresh agent mailbox and a fresh customer mailbox in the same dovecot."""

    def __init__(self, dv, smtp) -> None:
        self.dv, self.smtp = dv, smtp
        self.agent = dv.add_user("agent")
        self.customer = dv.add_user("cust")
        self.name = f"mail-{uuid.uuid4().hex[:6]}"  # one account, however many adapters a test makes
        # The adapter's own store (sync maps), kept across restarts like the engine's per-account folder.
        self.state_dir = Path(tempfile.mkdtemp(prefix="sb-imap-state-"))

    def account(self, window_days: int = 90, **extra):
        from providers.base import AccountConfig

        options = {"host": "127.0.0.1", "port": self.dv.imap_port, "security": "none", "username": self.agent,
                   "smtp_host": "127.0.0.1", "smtp_port": self.smtp.port, "smtp_security": "none",
                   "from": f"Support Team <{self.agent}>", "timeout": 10.0, "state_dir": str(self.state_dir), **extra}
        return AccountConfig(name=self.name, provider="imap", options=options,
                             secret=lambda: PASSWORD, window_days=window_days)

    async def make(self, read_only: bool = False, **extra):
        from providers.imap import ImapProvider

        return ImapProvider(self.account(**extra))

    def append(self, raw: bytes, folder: str = "INBOX", when=None, flags=(), user: str | None = None) -> None:
        """Put a message straight into a mailbox (the agent's by default)."""
        client = self.dv.imap(user or self.agent)
        try:
            if folder.upper() != "INBOX" and not client.folder_exists(folder):
                client.create_folder(folder)
            client.append(folder, raw, flags=flags, msg_time=when)
        finally:
            client.logout()

    def agent_imap(self):
        return self.dv.imap(self.agent)

    def customer_mail(self, text: str, subject: str = "Help please", **headers) -> EmailMessage:
        msg = EmailMessage()
        msg["From"] = f"Casey Customer <{self.customer}>"
        msg["To"] = self.agent
        msg["Subject"] = subject
        msg["Message-ID"] = f"<{uuid.uuid4().hex}@customer.example>"
        for name, value in headers.items():
            msg[name.replace("_", "-")] = value
        msg.set_content(text)
        return msg

    def send_as_customer(self, msg: EmailMessage) -> None:
        with smtplib.SMTP("127.0.0.1", self.smtp.port, timeout=10) as s:
            s.login(self.customer, PASSWORD)
            s.send_message(msg)

    async def customer_writes(self, text: str, **kw) -> EmailMessage:
        msg = self.customer_mail(text, **kw)
        await asyncio.to_thread(self.send_as_customer, msg)
        return msg

    def sent_copies(self, text: str) -> int:
        """How many mails containing ``text`` the agent's Sent folder holds."""
        client = self.dv.imap(self.agent)
        try:
            client.select_folder("Sent", readonly=True)
            return len(client.search(["BODY", text]))
        finally:
            client.logout()

    async def delivered(self, text: str) -> int:
        def count() -> int:
            client = self.dv.imap(self.customer)
            try:
                client.select_folder("INBOX", readonly=True)
                return len(client.search(["BODY", text]))
            finally:
                client.logout()
        return await asyncio.to_thread(count)

    async def remote_state(self) -> dict:
        def flags() -> dict:
            client = self.dv.imap(self.agent)
            try:
                out = {}
                for folder in ("INBOX", "Sent"):
                    client.select_folder(folder, readonly=True)
                    for uid, data in client.fetch(client.search("ALL"), ["FLAGS"]).items():
                        out[(folder, uid)] = sorted(f for f in data[b"FLAGS"] if f != b"\\Recent")
                return out
            finally:
                client.logout()
        return await asyncio.to_thread(flags)


# --------------------------------------------------------------------------- the SMTP process


# The steps of one SMTP send the server can be made slow at, in the order a client meets them.
# "data": the message has arrived and is not yet delivered; "accepted": it is delivered to the
# mailbox and the 250 reply has not been sent yet — the window no SMTP client can close.
SMTP_STEPS = ("ehlo", "mail", "rcpt", "data", "accepted", "quit")


def _serve_smtp(port: int, lmtp_port: int, password: str, slow: dict[str, tuple[float, bool]],
                trace: Path | None) -> None:
    import asyncio

    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword

    def authenticator(server, session, envelope, mechanism, auth_data):
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        ok = bool(auth_data.login) and auth_data.password.decode() == password
        return AuthResult(success=ok, handled=False)

    async def pause(step: str) -> None:
        """Wait at ``step`` if told to; say so in the trace file first (a test kills the client then)."""
        seconds, once = slow.get(step, (0.0, False))
        if not seconds:
            return
        if once:
            del slow[step]
        if trace is not None:
            with open(trace, "a") as fh:
                fh.write(step + "\n")
        await asyncio.sleep(seconds)

    class Relay:
        async def handle_EHLO(self, server, session, envelope, hostname, responses):
            await pause("ehlo")
            session.host_name = hostname
            return responses

        async def handle_MAIL(self, server, session, envelope, address, options):
            await pause("mail")
            envelope.mail_from = address
            envelope.mail_options.extend(options)
            return "250 OK"

        async def handle_RCPT(self, server, session, envelope, address, options):
            await pause("rcpt")
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(options)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            await pause("data")

            def deliver() -> None:
                with smtplib.LMTP("127.0.0.1", lmtp_port, timeout=10) as lmtp:
                    lmtp.sendmail(envelope.mail_from, envelope.rcpt_tos, envelope.original_content)

            try:
                await asyncio.get_running_loop().run_in_executor(None, deliver)
            except smtplib.SMTPRecipientsRefused as exc:
                return f"550 unknown recipient(s) {', '.join(exc.recipients)}"
            except (smtplib.SMTPException, OSError) as exc:
                return f"451 delivery failed: {exc}"
            await pause("accepted")
            return "250 OK delivered"

        async def handle_QUIT(self, server, session, envelope):
            await pause("quit")
            return "221 Bye"

    controller = Controller(Relay(), hostname="127.0.0.1", port=port, authenticator=authenticator,
                            auth_required=True, auth_require_tls=False)
    controller.start()
    stopped = False

    def on_term(signum, frame):
        nonlocal stopped
        stopped = True

    signal.signal(signal.SIGTERM, on_term)
    while not stopped:
        time.sleep(0.2)
    controller.stop()


def _slow_spec(text: str) -> tuple[str, tuple[float, bool]]:
    step, _, rest = text.partition(":")
    seconds, _, once = rest.partition(":")
    if step not in SMTP_STEPS or once not in ("", "once"):
        raise SystemExit(f"--slow {text!r}: use STEP:SECONDS[:once] with STEP one of {', '.join(SMTP_STEPS)}")
    return step, (float(seconds), once == "once")


def main(argv: list[str]) -> None:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m tests.support.servers.mail")
    parser.add_argument("mode", choices=["smtp"])
    parser.add_argument("port", type=int)
    parser.add_argument("lmtp_port", type=int)
    parser.add_argument("password")
    parser.add_argument("--slow", action="append", default=[], type=_slow_spec,
                        help="STEP:SECONDS[:once] — wait that long at that step (once: the first time only)")
    parser.add_argument("--trace", type=Path, help="append each slow step's name to this file as it starts")
    args = parser.parse_args(argv)
    _serve_smtp(args.port, args.lmtp_port, args.password, dict(args.slow), args.trace)


if __name__ == "__main__":
    main(sys.argv[1:])
