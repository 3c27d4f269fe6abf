"""The `switchboard` command line.

Every command prints a one-line error naming the problem and the fix and exits
2 for a user mistake (bad config, missing secret, unknown action); 1 when an
action was refused or failed; 0 on success.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import getpass
import inspect
import json
import logging
import os
import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from console import config as config_mod
from console.errors import UserError
from providers.records import CONVERSATION_CHANNELS
from console.output import say
from console.when import parse_when
from providers.text import clean_text

log = logging.getLogger("switchboard.cli")
MAX_ID = 2**63 - 1  # SQLite's largest integer

DEMO_PROFILE = "demo"


@dataclass
class Session:
    """What every command needs: the config, the profile's cache path and the data dir."""

    config: config_mod.Config
    data_dir: Path
    profile: str
    read_only: bool
    demo: bool

    @property
    def cache_path(self) -> Path:
        from console.cache.db import cache_path

        return cache_path(self.data_dir, self.profile)

    def open_db(self):
        from console.cache import connect

        return connect(self.cache_path)


# --------------------------------------------------------------------------- parser


class _Parser(argparse.ArgumentParser):
    """argparse, but a mistake is one line with the way out instead of the whole usage."""

    def error(self, message: str):
        say(f"{self.prog}: {message} — see `{self.prog} --help`")
        raise SystemExit(2)


def _id(text: str) -> int:
    """A local id as typed: a whole number SQLite can hold."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]!r} is not an id (a whole number, as in `switchboard export`)")
    if not 0 < value <= MAX_ID:
        raise argparse.ArgumentTypeError(f"{text[:40]} is not an id that can exist (ids are from 1 to {MAX_ID})")
    return value


def build_parser() -> argparse.ArgumentParser:
    def global_options(parser: argparse.ArgumentParser, default) -> None:
        # Sub-commands accept the global options too; their default is SUPPRESS so a
        # value given before the command is not overwritten by the sub-parser.
        parser.add_argument("--config", metavar="FILE", default=default,
                            help="config file (default: the platform's config folder)")
        parser.add_argument("--data-dir", metavar="DIR", default=default,
                            help="where caches live (default: the platform's data folder)")
        parser.add_argument("--profile", metavar="NAME", default=default,
                            help="cache profile (default: 'default'; 'demo' with --demo)")
        parser.add_argument("--read-only", action="store_true", default=default,
                            help="supervisor mode: nothing can be changed, not even read flags")
        parser.add_argument("--demo", action="store_true", default=default,
                            help="the embedded demo: no config, no accounts, no network")

    common = _Parser(add_help=False)
    global_options(common, argparse.SUPPRESS)
    p = _Parser(
        prog="switchboard",
        description="A keyboard-driven console for customer service: email, chat and social in one inbox.",
    )
    global_options(p, None)
    p.add_argument("--version", action=_VersionAction)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    sub.add_parser("console", parents=[common], help="launch the console (the default)",
                   description="Launch the console.")

    s = sub.add_parser("sync", parents=[common], help="run the sync engine headless",
                       description="Pull every account into the cache and send the outbox, without the console.")
    s.add_argument("--once", action="store_true", help="exit after one pass over every account")

    e = sub.add_parser("export", parents=[common], help="write conversations as JSON Lines to stdout",
                       description="Write one conversation per line as JSON (format in the README).")
    e.add_argument("--since", metavar="WHEN", help="only conversations active since WHEN (2026-11-01, yesterday, 3d, monday)")
    e.add_argument("--channel", choices=CONVERSATION_CHANNELS, help="only this channel")

    d = sub.add_parser("do", parents=[common], help="perform an action headless, through the same gate as the UI",
                       description="Perform one registered action on a conversation, e.g. "
                                   "`switchboard do reply 42 --text -` (text from stdin).")
    d.add_argument("action", nargs="?", help="action id (see --list)")
    d.add_argument("conversation", nargs="?", help="conversation id (as in export)")
    d.add_argument("--list", action="store_true", help="list every action with its keys and description")
    d.add_argument("--text", help="text for reply/note; '-' reads stdin")
    d.add_argument("--until", help="snooze until: 2h, 3d, tomorrow, monday, 2026-12-01T09:00, "
                                     "or reply (until the customer writes)")
    d.add_argument("--to", help="assign to: me, nobody, or an agent's name")
    d.add_argument("--add", action="append", default=[], help="tag to add (repeatable)")
    d.add_argument("--remove", action="append", default=[], help="tag to remove (repeatable)")
    d.add_argument("--level", help="priority: low, normal, high, urgent")
    d.add_argument("--name", help="macro name")
    d.add_argument("--identity", type=_id, help="identity id (link/unlink)")
    d.add_argument("--customer", type=_id, help="customer id (link, customer notes)")
    d.add_argument("--outbox", type=_id, help="outbox id (retry/cancel)")
    d.add_argument("--charge", help="refund: the payment's id (ch_… or pi_…, as in the customer pane), or its order number")
    d.add_argument("--amount", help="refund: how much, e.g. 12.50 (default: all that is left on the charge)")
    d.add_argument("--reason", help="refund: why, kept with the refund and in the conversation")
    d.add_argument("--threads", metavar="IDS", help="do it on many conversations at once: 3,4,5 (close, reopen, "
                                                  "snooze, assign, tag, priority, apply_macro, mark_read, mark_unread)")
    d.add_argument("--yes", action="store_true", help="close even though the conversation holds an unsent draft")
    d.add_argument("--send", action="store_true", help="push the outbox for this account now instead of at the next sync "
                   "(a reply then skips the undo-send window)")

    a = sub.add_parser("accounts", parents=[common], help="store and remove account secrets in the keyring",
                       description="Secrets live in the OS keyring under service 'switchboard' and the account name.")
    asub = a.add_subparsers(dest="accounts_command", metavar="ACTION")
    add = asub.add_parser("add", parents=[common], help="store the account's password or token",
                          description="Prompt for the secret (or read it from stdin when not a terminal).")
    add.add_argument("name")
    add.add_argument("--oauth", action="store_true", help="sign in through the adapter's own flow (Mastodon: OAuth out-of-band) to get a token")
    asub.add_parser("list", parents=[common], help="list accounts and whether a secret is stored",
                    description="List configured accounts and whether each has a secret in the keyring.")
    rm = asub.add_parser("remove", parents=[common], help="drop the account's secret from the keyring",
                         description="Remove the account's secret from the keyring.")
    rm.add_argument("name")

    sub.add_parser("doctor", parents=[common], help="check config, keyring, cache and every account",
                   description="Check config, keyring, cache and each account's reachability; say how to fix problems.")

    x = sub.add_parser("explain", parents=[common], help="show what triage, tone and suggestions make of a message",
                       description="Run one customer message through ingest on the current config and knowledge "
                                   "base, in a scratch cache, and print tone, type, matching rules, queue, priority, "
                                   "SLA policy and suggested articles as JSON.")
    x.add_argument("--text", required=True, help="the customer's message; '-' reads stdin")
    x.add_argument("--subject", default="", help="the conversation's subject")
    x.add_argument("--channel", choices=["email", "chat", "social", "helpdesk"], help="default: the account's, or email")
    x.add_argument("--account", help="the account it arrives on (as named in the config)")

    tm = sub.add_parser("team", parents=[common], help="who on the team is online and what each is on",
                        description="Each agent, online or not, the conversation (this console's id and subject) "
                                    "they are viewing or replying to, and their open claims, read once from the "
                                    "team room(s) of [team] (read-only: nothing is written there).")
    tm.add_argument("--json", action="store_true", help="JSON instead of text")
    r = sub.add_parser("report", parents=[common], help="supervisor figures as text or JSON",
                       description="The dashboard's figures for a daily summary.")
    r.add_argument("--since", metavar="WHEN", help="period start: 2026-11-16, yesterday, 7d, monday (default: 7 days ago)")
    r.add_argument("--json", action="store_true", help="JSON instead of text")
    return p


class _VersionAction(argparse.Action):
    """--version, read from the installed metadata only when asked (reading it costs first paint)."""

    def __init__(self, option_strings, dest, **kwargs) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="show the program's version number and exit")

    def __call__(self, parser, namespace, values, option_string=None) -> None:
        print(f"{parser.prog} {_version()}")
        parser.exit()


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("switchboard-console")
    except Exception:
        return "dev"


# --------------------------------------------------------------------------- session


def make_session(args: argparse.Namespace) -> Session:
    demo = bool(args.demo)
    data_dir = Path(args.data_dir).expanduser() if args.data_dir else config_mod.default_data_dir()
    if demo:
        text = (Path(__file__).parent / "demo_config.toml").read_text(encoding="utf-8")
        cfg = config_mod.parse(text, "demo_config.toml")
        profile = args.profile or DEMO_PROFILE
    else:
        cfg = config_mod.load(Path(args.config).expanduser() if args.config else None)
        profile = args.profile or "default"
    if not _valid_profile(profile):
        raise UserError(f"profile name {profile!r} is not usable as a file name", fix="use letters, digits, - and _")
    read_only = bool(args.read_only) or cfg.read_only
    return Session(config=cfg, data_dir=data_dir, profile=profile, read_only=read_only, demo=demo)


def _valid_profile(name: str) -> bool:
    return bool(name) and all(c.isalnum() or c in "-_" for c in name)


class _QuietFileHandler(logging.FileHandler):
    """A log that cannot be written (disk full) drops the record instead of printing
    "--- Logging error ---" and a traceback over the user's output."""

    def _open(self):
        Path(self.baseFilename).parent.mkdir(parents=True, exist_ok=True)  # made at the first record only
        return super()._open()

    def emit(self, record: logging.LogRecord) -> None:
        try:
            super().emit(record)
        except OSError:
            pass  # the folder cannot be made (disk full, read-only): the record is dropped

    def handleError(self, record: logging.LogRecord) -> None:
        pass


class _InertFormatter(logging.Formatter):
    """Server text in a log line loses its escapes, so `cat switchboard.log` is safe."""

    def format(self, record: logging.LogRecord) -> str:
        return clean_text(super().format(record))


def _setup_logging(data_dir: Path) -> None:
    """The log in the data folder, opened at the first record (commands that only read,
    like doctor, leave no file and no folder behind)."""
    handler: logging.Handler = _QuietFileHandler(data_dir / "switchboard.log", encoding="utf-8", delay=True)
    handler.setFormatter(_InertFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    # On the root logger, so libraries' records (asyncio's "exception never retrieved") go to
    # the file too, never to the screen.
    top = logging.getLogger()
    for old in [h for h in top.handlers if isinstance(h, _QuietFileHandler)]:
        top.removeHandler(old)
        old.close()
    top.addHandler(handler)
    logging.getLogger("switchboard").setLevel(logging.INFO)


def parse_since(value: str) -> float:
    """--since for export and report: the snooze parser, looking back."""
    try:
        return parse_when(value, past=True)
    except ValueError as exc:
        raise UserError(f"--since: {exc}") from None


def make_service(cfg):
    """The triage/tone/SLA service."""
    from console.service import Service

    return Service(cfg)


def ensure_demo_data(session: Session, db) -> None:
    """The demo profile fills itself on first use, so `--demo export` works from nothing."""
    if not session.demo or db.execute("SELECT 1 FROM threads LIMIT 1").fetchone():
        return
    from console.engine import Engine

    engine = Engine(db, session.config, read_only=False, service=make_service(session.config),
                    data_dir=session.data_dir)
    asyncio.run(engine.run_once())


# --------------------------------------------------------------------------- commands


def cmd_console(session: Session, args) -> int:
    if not sys.stdout.isatty() or not sys.stdin.isatty():
        raise UserError("the console needs a terminal", fix="run it in a terminal, or use `switchboard export` / `do`")
    # Textual paints at most MAX_FPS frames a second, so a key waits up to one frame period for
    # its frame: 120 halves the 60 Hz wait (bench_ui: step p50 16.7 -> 8.3 ms). Its frame timer
    # sleeps while nothing changed, so idle CPU stays zero. Read once when Textual is imported.
    os.environ.setdefault("TEXTUAL_FPS", "120")
    from widgets.app import run_app  # the one place the core starts the UI (see the import contracts)

    return run_app(db_path=session.cache_path, config=session.config, read_only=session.read_only,
                   demo=session.demo, data_dir=session.data_dir)


FAILED_STATES = ("offline", "auth_failed", "error")


def check_accounts(session: Session) -> dict:
    """Every account's options are readable before anything runs: a config mistake is
    exit 2, as for a broken config file, not one failed account among many. Returns the
    adapters it built, by account name, for the engine to use (finding an adapter costs)."""
    from console.engine import build_provider
    from providers.base import ProviderError

    from console import secrets

    built = {}
    for acc in session.config.accounts:
        if acc.enabled:
            try:
                provider = built[acc.name] = build_provider(acc, session.data_dir)
            except ProviderError as exc:
                raise UserError(str(exc)) from None
            # A keyring that cannot be read, or no secret stored, is a setup mistake too (exit 2,
            # the whole fix), not an account "offline" with its fix cut short.
            if getattr(provider, "needs_secret", False) and not secrets.get(acc.name):
                raise UserError(f"account {acc.name!r}: no {provider.secret_label} in the keyring",
                                fix=f"run: switchboard accounts add {acc.name}")
    return built


def cmd_sync(session: Session, args) -> int:
    from console.engine import Engine

    if not session.config.accounts:
        raise UserError("no accounts configured", fix="add [[accounts]] to config.toml (see the example), or use --demo")
    providers = check_accounts(session)
    db = session.open_db()
    engine = Engine(db, session.config, read_only=session.read_only, service=make_service(session.config),
                    data_dir=session.data_dir, announce=False, providers=providers)  # no one sits at a headless sync: it announces nothing
    if args.once:
        return _sync_once(engine)
    shown: dict[str, str] = {}

    def report() -> None:
        for name, st in engine.states.items():
            line = st.line(retrying=False)
            if shown.get(name) != line:
                shown[name] = line
                say(line)

    async def forever() -> None:
        await engine.start()
        try:
            while True:
                report()
                await asyncio.sleep(0.5)
        finally:
            await engine.stop()

    try:
        asyncio.run(forever())
    except KeyboardInterrupt:
        pass
    return 0


def _sync_once(engine) -> int:
    """One pass; exit 1 when an account could not sync or a queued send did not go out
    (the dispatcher's own account of each row it could not push), naming each."""
    states = asyncio.run(engine.run_once())
    failed = 0
    for st in states.values():
        say(st.line(retrying=False))
        failed += st.state in FAILED_STATES
        for problem in st.send_problems:
            say(f"{st.name}: {problem}")
            failed += 1
    return 1 if failed else 0


def cmd_export(session: Session, args) -> int:
    from console.export import write_jsonl

    db = session.open_db()
    ensure_demo_data(session, db)
    since = parse_since(args.since) if args.since else None
    try:
        write_jsonl(db, sys.stdout, since=since, channel=args.channel)
        sys.stdout.flush()
    except BrokenPipeError:  # `switchboard export | head` is fine
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 0


# The `do` option that carries each handler argument.
FLAGS = {"text": "--text", "until": "--until", "to": "--to", "level": "--level", "name": "--name",
         "identity_id": "--identity", "customer_id": "--customer", "outbox_id": "--outbox", "add": "--add",
         "remove": "--remove", "charge": "--charge", "amount": "--amount", "reason": "--reason",
         "at_once": "--send", "confirmed": "--yes"}


def cmd_do(session: Session, args) -> int:
    from console import actions

    if args.list or not args.action:
        for a in sorted(actions.REGISTRY.values(), key=lambda a: (a.handler is None, a.id)):
            if a.handler is None:
                continue
            keys = ", ".join(a.keys) or "-"
            flag = " (changes data)" if a.mutating else ""
            print(f"{a.id:18} {keys:12} {a.description}{flag}")
        if args.list:
            return 0
        raise UserError("name the action to perform", fix="e.g. `switchboard do close 42`; the actions are listed above")
    action = actions.REGISTRY.get(args.action)
    if action is None or action.handler is None:
        raise UserError(f"unknown action {args.action[:40]!r}", fix="see `switchboard do --list`")
    conversation = _conversation_id(args.conversation)
    if action.needs_thread and conversation is None and not args.threads:
        raise UserError(f"{action.id} needs a conversation id",
                        fix=f"e.g. `switchboard do {action.id} 42` (ids are in `switchboard export`)")
    kwargs = _action_args(args)
    _check_options(action, kwargs)
    if action.id == "assign" and "to" in kwargs:
        kwargs["to"] = resolve_agent(session.config, kwargs["to"])
    db = session.open_db()
    ensure_demo_data(session, db)
    ctx = actions.Context(db=db, agent=session.config.agent_name, role=session.config.role,
                          read_only=session.read_only, config=session.config)
    if args.threads:
        result = actions.perform(ctx, "bulk", None, action=action.id, threads=args.threads, **kwargs)
    else:
        result = actions.perform(ctx, action.id, conversation, **kwargs)
    say(("ok: " if result.ok else "refused: " if "read-only" in result.message else "error: ") + result.message,
        err=not result.ok)
    if result.ok and args.send and conversation is not None:
        _send_now(session, db, conversation)
    return 0 if result.ok else 1


def _conversation_id(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        return _id(text)
    except argparse.ArgumentTypeError as exc:
        raise UserError(f"conversation {exc}", fix="e.g. `switchboard do close 42`") from None


def _check_options(action, kwargs: dict) -> None:
    """The options given are the ones this action takes, and none it needs is missing."""
    params = list(inspect.signature(action.handler).parameters.values())[2:]  # after ctx, thread_id
    takes = {p.name for p in params}
    extra = [FLAGS[k] for k in kwargs if k not in takes]
    if extra:
        accepted = ", ".join(FLAGS[p.name] for p in params if p.name in FLAGS)
        raise UserError(f"{action.id} does not take {', '.join(extra)}",
                        fix=f"it takes {accepted}" if accepted else "it takes no options, only the conversation id")
    missing = [p.name for p in params if p.default is inspect.Parameter.empty and p.name not in kwargs]
    if missing:
        flags = " and ".join(FLAGS.get(n, n) for n in missing)
        example = " ".join(f"{FLAGS.get(n, n)} ID" if n.endswith("_id") else f"{FLAGS.get(n, n)} …" for n in missing)
        raise UserError(f"{action.id} needs {flags}", fix=f"e.g. `switchboard do {action.id} {example}`")


def resolve_agent(config, to: str) -> str:
    """'me', 'nobody', or a known agent by full or first name (any case); anyone else is refused."""
    from console.triage import parse_agents

    wanted = " ".join(str(to).split())
    if wanted.lower() in ("me", "nobody", ""):
        return wanted.lower() or "me"
    where = Path(config.path).name if config.path else "config.toml"
    known = [a.name for a in parse_agents((config.raw or {}).get("agents", []), where)]
    if config.agent_name not in known:
        known.append(config.agent_name)
    for pick in (lambda n: n.lower() == wanted.lower(), lambda n: n.split()[0].lower() == wanted.lower()):
        found = [n for n in known if n.split() and pick(n)]
        if len(found) == 1:
            return found[0]
    raise UserError(f"no agent called {wanted[:40]!r}",
                    fix="known: " + ", ".join(["me", "nobody", *known]) + " (agents are [[agents]] in config.toml)")


def _action_args(args) -> dict:
    text = args.text
    if text == "-":
        text = sys.stdin.read()
    kwargs = {}
    for key, value in (("text", text), ("until", args.until), ("to", args.to), ("level", args.level),
                       ("name", args.name), ("identity_id", args.identity), ("customer_id", args.customer),
                       ("outbox_id", args.outbox), ("charge", args.charge), ("amount", args.amount),
                       ("reason", args.reason)):
        if value is not None:
            kwargs[key] = value
    if args.send and args.action in ("reply", "move_private"):
        kwargs["at_once"] = True  # --send pushes now: no undo-send window to wait out
    if args.yes:
        kwargs["confirmed"] = True
    if args.add:
        kwargs["add"] = args.add
    if args.remove:
        kwargs["remove"] = args.remove
    return kwargs


def _send_now(session: Session, db, thread_id: int) -> None:
    from console.engine import Engine

    # The newest outbox row says where to push: the conversation's account, or the payments account of a refund.
    account = db.execute("""SELECT COALESCE((SELECT a.name FROM outbox o JOIN accounts a ON a.id=o.account_id
                                             WHERE o.thread_id=t.id ORDER BY o.id DESC LIMIT 1), a.name)
                            FROM threads t JOIN accounts a ON a.id=t.account_id WHERE t.id=?""",
                         (thread_id,)).fetchone()[0]
    cfg = session.config
    only = [a for a in cfg.accounts if a.name == account]
    sub = config_mod.Config(**{**cfg.__dict__, "accounts": only})
    engine = Engine(db, sub, read_only=session.read_only, data_dir=session.data_dir)
    states = asyncio.run(engine.run_once())
    st = states.get(account)
    if st is not None:
        say(st.line(retrying=False))
    row = db.execute("SELECT state, last_error FROM outbox WHERE thread_id=? AND kind != 'save_copy' "
                     "ORDER BY id DESC LIMIT 1", (thread_id,)).fetchone()
    if row is not None:
        say(f"outbox: {row['state']}" + (f" — {row['last_error']}" if row["last_error"] else ""), err=False)


def cmd_accounts(session: Session, args) -> int:
    from console import secrets

    sub = args.accounts_command or "list"
    names = {a.name: a for a in session.config.accounts}
    if session.config.team is not None:  # [team]'s Matrix account keeps its secret like any account
        from console.config import AccountSettings

        names["team"] = AccountSettings(name="team", provider=session.config.team.provider, options={})
    if sub == "list":
        if not names:
            print("no accounts configured — add [[accounts]] to config.toml (see the example)")
            return 0
        errors = _last_errors(session)
        for acc in names.values():
            try:
                has = "secret stored" if secrets.get(acc.name) else "no secret"
            except UserError as exc:
                has = f"keyring unavailable ({exc})"
            line = f"{acc.name:20} {acc.provider:10} {has}"
            if acc.name in errors:
                line += " — last sync failed: " + errors[acc.name]
            say(line, err=False)
        return 0
    if sub == "add":
        secrets.check_backend()
        if args.name not in names:
            print(f"note: {args.name!r} is not in the config yet; the secret is stored anyway", file=sys.stderr)
        if args.oauth:
            secret = _authorize(names.get(args.name))
        elif sys.stdin.isatty():
            secret = getpass.getpass(f"Secret for {args.name} (not shown): ")
        else:
            secret = sys.stdin.read().rstrip("\r\n")
        if not secret:
            raise UserError("the secret is empty: nothing stored", fix="type or pipe the password or token")
        secrets.put(args.name, secret)
        print(f"stored the secret for {args.name} in the keyring ({secrets.backend_name()})")
        return 0
    if secrets.delete(args.name):  # remove
        print(f"removed the secret for {args.name}")
        return 0
    print(f"no secret stored for {args.name}", file=sys.stderr)
    return 1


def _last_errors(session: Session) -> dict[str, str]:
    """Each account's last sync failure and its fix, as the engine left them in the cache
    (read without creating a cache that is not there)."""
    from console.cache.db import open_existing

    db = open_existing(session.cache_path)
    if db is None:
        return {}
    try:
        rows = db.execute("SELECT name, last_error, last_fix, last_error_at FROM accounts WHERE last_error != ''")
        return {r["name"]: f"{r['last_error']}" + (f" — {r['last_fix']}" if r["last_fix"] else "")
                + f" (at {time.strftime('%Y-%m-%d %H:%M', time.localtime(r['last_error_at'] or 0))})"
                for r in rows}
    except sqlite3.Error:
        return {}  # a cache from before the column existed, or a damaged one: doctor says which
    finally:
        db.close()


def _authorize(acc) -> str:
    """The adapter's own interactive sign-in (the contract's ``authorize`` hook)."""
    from providers.base import ProviderError, load

    if acc is None:
        raise UserError("--oauth needs an account configured in config.toml", fix="add it as [[accounts]] first")

    async def ask(url: str) -> str:
        print("Open this address, allow access, and paste the code:", file=sys.stderr)
        print(url, file=sys.stderr)
        return input("Code: ").strip()

    try:
        return asyncio.run(load(acc.provider).authorize(acc.options, ask))
    except ProviderError as exc:
        raise UserError(str(exc)) from None


def cmd_doctor(session: Session, args) -> int:
    from console.doctor import run
    from widgets.keys import build_keymap  # the console's own [keymap] check, so both agree

    return run(session, keymap_problems=lambda keymap: build_keymap(keymap).problems)


def cmd_report(session: Session, args) -> int:
    from console.report import render

    db = session.open_db()
    ensure_demo_data(session, db)
    since = parse_since(args.since) if args.since else None
    print(render(db, session.config, since, args.json))
    return 0


def cmd_team(session: Session, args) -> int:
    from console.team import presence, view
    from providers.base import ProviderError

    if session.config.team is None:
        raise UserError("no [team] section in config.toml: this console works alone",
                        fix="add [team] with homeserver, user_id and rooms (see the example config.toml)")
    db = session.open_db()
    try:
        asyncio.run(presence.read_once(session.config, db, session.data_dir))
    except (ProviderError, UserError, OSError, asyncio.TimeoutError) as exc:
        say(f"switchboard: team room not read ({exc}); showing what this cache last heard")
    found = view.members(db, session.config, time.time())
    if args.json:
        print(json.dumps([m.to_dict() for m in found], indent=2, ensure_ascii=False))
    else:
        print(view.render_text(found))
    return 0


def cmd_explain(session: Session, args) -> int:
    from console.explain import explain

    text = sys.stdin.read() if args.text == "-" else args.text
    source = None
    if session.demo:
        source = session.open_db()
        ensure_demo_data(session, source)
    elif session.cache_path.exists():
        source = session.open_db()
    try:
        out = explain(session.config, text, subject=args.subject, channel=args.channel, account=args.account,
                      knowledge_from=source)
    finally:
        if source is not None:
            source.close()
    print(json.dumps(out, indent=2, ensure_ascii=False))
    return 0


COMMANDS = {
    None: cmd_console, "console": cmd_console, "sync": cmd_sync, "export": cmd_export, "do": cmd_do,
    "accounts": cmd_accounts, "doctor": cmd_doctor, "report": cmd_report, "explain": cmd_explain,
    "team": cmd_team,
}


def main(argv: list[str] | None = None) -> int:
    os.umask(0o077)  # caches, logs and adapter state hold customer data: private to the user
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        session = make_session(args)
        _setup_logging(session.data_dir)
        return COMMANDS[args.command](session, args) or 0
    except UserError as exc:
        say(f"switchboard: {exc}")
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0
    except sqlite3.Error as exc:
        from console.cache.db import explain

        say(f"switchboard: {explain(exc)}")
        return 1
    except OSError as exc:
        say(f"switchboard: {_os_error(exc)}")
        return 1
    except RecursionError:
        say("switchboard: the input is nested too deeply to read — flatten it (config.toml arrays and tables, "
            "or the message)")
        return 2
    except Exception as exc:  # a bug: one line here, the traceback in the log
        log.exception("unexpected error")
        say(f"switchboard: internal error ({type(exc).__name__}: {exc}) — this is a bug; the details are in "
            "switchboard.log in the data folder")
        return 1


def _os_error(exc: OSError) -> str:
    where = f" {exc.filename}" if exc.filename else ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"cannot write{where}: the disk is full — free some space and run it again; nothing was lost"
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"cannot write{where}: {exc.strerror} — check the folder's permissions or pick another --data-dir"
    return f"{exc.strerror or exc}{where} — check the path and try again"


if __name__ == "__main__":
    sys.exit(main())
