"""A real Request Tracker 5 on 127.0.0.1 for the rt adapter's tests.

``rt_server`` (session scope) makes a private instance in a temporary folder: its own
site config (``RT_SITE_CONFIG``, an empty ``RT_SITE_CONFIG_DIR`` so the system's
debconf settings are not read), a fresh SQLite database from ``rt-setup-database-5``
plus :data:`INITIALDATA` (the agent, a colleague, a user without rights, a second
queue, a ticket custom field, the rights customers need), then starts ``rt-server``
on a free port with an access log and stops it by pid.

The fixture plays everyone around the agent through RT's own REST2 API: customers
(unprivileged users who open and answer tickets), and a colleague in the web UI
(``root``) who answers, comments, takes tickets and changes their status.

Outside CI a missing RT skips with the reason; with CI=true it fails. Install it
with ``tests/support/servers/install_rt.sh``.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.support.servers.common import free_port, missing, session_server, stop

HINT = "run tests/support/servers/install_rt.sh (apt: request-tracker5 rt5-db-sqlite rt5-standalone)"
RT_SERVER = Path("/usr/share/request-tracker5/libexec/rt-server")
RT_LIB = Path("/usr/share/request-tracker5/lib")
SETUP = "rt-setup-database-5"
AGENT, AGENT_PASSWORD = "agent", "agent-pw-2468"
COLLEAGUE, COLLEAGUE_PASSWORD = "root", "password"  # RT's own default administrator
NOBODY_RIGHTS, NOBODY_PASSWORD = "visitor", "visitor-pw-1357"
CUSTOMER_PASSWORD = "customer-pw-9753"
CF_NAME = "Order number"

_SITE = """\
Set($rtname, 'rt.vm');
Set($Organization, 'rt.vm');
Set($DatabaseType, 'SQLite');
Set($DatabaseName, '{db}');
Set($WebPath, '');
Set($WebDomain, '127.0.0.1');
Set($WebPort, {port});
Set($WebBaseURL, 'http://127.0.0.1:{port}');
Set($LogToSTDERR, 'warning');
Set($LogToSyslog, undef);
Set($MailCommand, 'testfile');
# Every REST2 request logs in; the default bcrypt cost (12) makes each one ~350 ms of CPU.
Set($BcryptCost, 4);
1;
"""

# Loaded with rt-setup-database-5 --action insert: people, a second queue, a ticket
# custom field, and the rights an unprivileged customer needs to open and answer a ticket.
INITIALDATA = f"""\
@Users = (
    {{ Name => '{AGENT}', EmailAddress => 'agent@rt.vm', RealName => 'Sam Agent',
       Password => '{AGENT_PASSWORD}', Privileged => 1 }},
    {{ Name => '{NOBODY_RIGHTS}', EmailAddress => 'visitor@rt.vm', RealName => 'Vic Visitor',
       Password => '{NOBODY_PASSWORD}', Privileged => 1 }},
);
@Queues = (
    {{ Name => 'Billing', Description => 'Invoices and refunds',
       CorrespondAddress => 'billing@rt.vm', CommentAddress => 'billing-comment@rt.vm' }},
);
@CustomFields = (
    {{ Name => '{CF_NAME}', Type => 'FreeformSingle', LookupType => 'RT::Queue-RT::Ticket',
       Queue => 0, Description => 'the shop order the ticket is about' }},
);
@ACL = (
    {{ UserId => '{AGENT}', Right => 'SuperUser' }},
    map {{ {{ GroupDomain => 'SystemInternal', GroupType => 'Everyone', Right => $_ }} }}
        qw(CreateTicket ReplyToTicket),
    map {{ {{ GroupDomain => 'RT::System-Role', GroupType => 'Requestor', Right => $_ }} }}
        qw(ShowTicket),
);
1;
"""


@dataclass
class Customer:
    email: str
    name: str


@dataclass
class RtServer:
    dir: Path
    port: int
    proc: subprocess.Popen | None = None
    customers: dict[str, Customer] = field(default_factory=dict)
    texts: dict[int, str] = field(default_factory=dict)  # transaction id -> its text (RT never edits one)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "RT_SITE_CONFIG": str(self.dir / "site.pm"),
                "RT_SITE_CONFIG_DIR": str(self.dir / "conf.d")}

    # ------------------------------------------------------------------ life cycle

    def setup(self) -> None:
        (self.dir / "conf.d").mkdir(parents=True, exist_ok=True)
        (self.dir / "site.pm").write_text(_SITE.format(db=self.dir / "rtdb", port=self.port))
        (self.dir / "initialdata").write_text(INITIALDATA)
        for args in (["--action", "init", "--skip-create"],
                     ["--action", "insert", "--datafile", str(self.dir / "initialdata"), "--skip-create"]):
            done = subprocess.run([SETUP, *args], env=self.env, cwd=self.dir, capture_output=True, text=True,
                                  stdin=subprocess.DEVNULL, timeout=180)
            if done.returncode != 0:
                raise RuntimeError(f"{SETUP} {' '.join(args)} failed: {done.stderr[-2000:]}")

    def start(self, access_log: bool = True) -> None:
        """``access_log`` needs Plack's development mode, which is slower (bench/ turns it off)."""
        err = open(self.dir / "server.log", "ab")
        logging = ["--env", "development", "--access-log", str(self.dir / "access.log")] if access_log else []
        self.proc = subprocess.Popen(
            [str(RT_SERVER), "--host", "127.0.0.1", "--port", str(self.port), *logging],
            env=self.env, cwd=self.dir, stdin=subprocess.DEVNULL, stdout=err, stderr=err, start_new_session=True)
        err.close()
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"rt-server exited ({self.proc.returncode}): {self.log_tail()}")
            try:
                if httpx.get(f"{self.url}/REST/2.0/rt", auth=(AGENT, AGENT_PASSWORD), timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"rt-server did not answer within 90 s: {self.log_tail()}")

    def stop(self) -> None:
        """SIGTERM to the server's process group (Starlet forks workers), by its pid."""
        proc, self.proc = self.proc, None
        if proc is not None:
            stop(proc, group=True)

    def log_tail(self) -> str:
        path = self.dir / "server.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""

    def access_log(self) -> list[str]:
        """Request lines ("GET /REST/2.0/...") the server received so far, in order."""
        path = self.dir / "access.log"
        lines = path.read_text(errors="replace").splitlines() if path.exists() else []
        out = []
        for line in lines:
            if '"' in line:
                out.append(line.split('"')[1])
        return out

    # ------------------------------------------------------------------ REST2 as someone

    def call(self, method: str, path: str, *, user: str = COLLEAGUE, password: str | None = None,
             json=None, params=None, headers=None) -> httpx.Response:
        if password is None:
            password = {COLLEAGUE: COLLEAGUE_PASSWORD, AGENT: AGENT_PASSWORD}.get(user, CUSTOMER_PASSWORD)
        resp = httpx.request(method, f"{self.url}/REST/2.0{path}", auth=(user, password), json=json, params=params,
                             headers=headers, timeout=30)
        if resp.status_code >= 400:
            raise AssertionError(f"{method} {path} as {user}: {resp.status_code} {resp.text[:300]}")
        return resp

    def token_for(self, user: str) -> str:
        """A REST2 auth token for ``user`` (what a person makes in RT's preferences)."""
        script = ("use RT; RT::LoadConfig(); RT::Init(); my $u = RT::User->new(RT->SystemUser); "
                  f"$u->Load('{user}'); my $t = RT::AuthToken->new($u); "
                  "my ($ok, $msg, $auth) = $t->Create(Owner => $u->Id, Description => 'switchboard'); "
                  "die $msg unless $ok; print $auth;")
        done = subprocess.run(["perl", f"-I{RT_LIB}", "-e", script], env=self.env, cwd=self.dir, capture_output=True,
                              text=True, timeout=60, stdin=subprocess.DEVNULL)
        if done.returncode != 0 or not done.stdout.strip():
            raise RuntimeError(f"could not make an RT auth token: {done.stderr[-500:]}")
        return done.stdout.strip()

    def customer(self, name: str = "") -> Customer:
        """A new unprivileged customer who can log in to REST2 (a self-service user)."""
        tag = uuid.uuid4().hex[:8]
        email = f"cust-{tag}@example.com"
        person = Customer(email=email, name=name or f"Customer {tag}")
        self.call("POST", "/user", json={"Name": email, "EmailAddress": email, "RealName": person.name,
                                         "Password": CUSTOMER_PASSWORD})
        self.customers[email] = person
        return person

    def open_ticket(self, who: Customer, subject: str, text: str, queue: str = "General", **extra) -> int:
        body = {"Queue": queue, "Subject": subject, "Requestor": who.email, "Content": text,
                "ContentType": "text/plain", **extra}
        return int(self.call("POST", "/ticket", user=who.email, json=body).json()["id"])

    def customer_writes(self, who: Customer, ticket: int, text: str) -> int:
        return self._message(ticket, "correspond", text, user=who.email)

    def colleague_replies(self, ticket: int, text: str) -> int:
        return self._message(ticket, "correspond", text, user=COLLEAGUE)

    def colleague_comments(self, ticket: int, text: str) -> int:
        return self._message(ticket, "comment", text, user=COLLEAGUE)

    def colleague_sets(self, ticket: int, **fields) -> None:
        self.call("PUT", f"/ticket/{ticket}", json=fields)

    def _message(self, ticket: int, kind: str, text: str, *, user: str) -> int:
        resp = self.call("POST", f"/ticket/{ticket}/{kind}", user=user,
                         json={"Content": text, "ContentType": "text/plain"})
        return int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[1])

    def ticket(self, ticket: int) -> dict:
        return self.call("GET", f"/ticket/{ticket}", params={"fields[Owner]": "Name"}).json()

    def history(self, ticket: int) -> list[dict]:
        """Every transaction of a ticket with its type, author and text (as RT shows them)."""
        items = self.call("GET", f"/ticket/{ticket}/history",
                          params={"fields": "Type,Field,OldValue,NewValue,Creator", "per_page": 100}).json()["items"]
        out = []
        for txn in items:
            text = ""
            if txn["Type"] in ("Create", "Correspond", "Comment"):
                text = self._text(int(txn["id"]))
            out.append({"id": int(txn["id"]), "type": txn["Type"], "field": txn["Field"], "new": txn["NewValue"],
                        "creator": txn["Creator"]["id"], "text": text})
        return out

    def _text(self, txn: int) -> str:
        """A transaction's text, fetched once: RT never changes a transaction after it is made."""
        if txn not in self.texts:
            parts = self.call("GET", f"/transaction/{txn}/attachments",
                              params={"fields": "ContentType,Content"}).json()["items"]
            # In a collection REST2 gives Content as text (only a single attachment is base64).
            self.texts[txn] = "\n".join(p["Content"] for p in parts
                                        if p["ContentType"] in ("text/plain", "text/html") and p.get("Content"))
        return self.texts[txn]

    def last_transaction(self) -> int:
        items = self.call("POST", "/transactions", params={"orderby": "id", "order": "DESC", "per_page": 1},
                          json=[{"field": "id", "operator": ">", "value": 0}]).json()["items"]
        return int(items[0]["id"]) if items else 0


def start_rt(folder: Path, *, access_log: bool = True) -> RtServer:
    if not RT_SERVER.exists():
        missing(f"Request Tracker is not installed: {HINT}")
    folder.mkdir(parents=True, exist_ok=True)
    for p in (folder, *folder.parents):  # RT's workers run as this user; keep the path traversable
        if p == Path("/"):
            break
        try:
            p.chmod(p.stat().st_mode | 0o055)
        except PermissionError:
            break
    server = RtServer(dir=folder, port=free_port())
    server.setup()
    server.start(access_log=access_log)
    return server


@pytest.fixture(scope="session")
def rt_server(tmp_path_factory):
    server = start_rt(tmp_path_factory.mktemp("rt"))
    session_server(server.proc, group=True)
    yield server
    server.stop()
