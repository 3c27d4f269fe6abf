"""The `switchboard` command line.

Every command prints a one-line error naming the problem and the fix and exits
2 for a user mistake (bad config, missing secret, unknown action); 1 when an
action was refused or failed; 0 on success.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import os
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from console import config as config_mod
from console.errors import UserError
from providers.records import CONVERSATION_CHANNELS

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

    common = argparse.ArgumentParser(add_help=False)
    global_options(common, argparse.SUPPRESS)
    p = argparse.ArgumentParser(
        prog="switchboard",
        description="A keyboard-driven console for customer service: email, chat and social in one inbox.",
    )
    global_options(p, None)
    p.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    sub.add_parser("console", parents=[common], help="launch the console (the default)",
                   description="Launch the console.")

    s = sub.add_parser("sync", parents=[common], help="run the sync engine headless",
                       description="Pull every account into the cache and send the outbox, without the console.")
    s.add_argument("--once", action="store_true", help="exit after one pass over every account")

    e = sub.add_parser("export", parents=[common], help="write conversations as JSON Lines to stdout",
                       description="Write one conversation per line as JSON (format in the README).")
    e.add_argument("--since", metavar="DATE", help="only conversations active since DATE (2026-11-01 or ISO time)")
    e.add_argument("--channel", choices=CONVERSATION_CHANNELS, help="only this channel")

    d = sub.add_parser("do", parents=[common], help="perform an action headless, through the same gate as the UI",
                       description="Perform one registered action on a conversation, e.g. "
                                   "`switchboard do reply 42 --text -` (text from stdin).")
    d.add_argument("action", nargs="?", help="action id (see --list)")
    d.add_argument("conversation", nargs="?", type=int, help="conversation id (as in export)")
    d.add_argument("--list", action="store_true", help="list every action with its keys and description")
    d.add_argument("--text", help="text for reply/note; '-' reads stdin")
    d.add_argument("--until", help="snooze until: 2h, 3d, tomorrow, monday, 2026-12-01T09:00")
    d.add_argument("--to", help="assign to: me, nobody, or an agent's name")
    d.add_argument("--add", action="append", default=[], help="tag to add (repeatable)")
    d.add_argument("--remove", action="append", default=[], help="tag to remove (repeatable)")
    d.add_argument("--level", help="priority: low, normal, high, urgent")
    d.add_argument("--name", help="macro name")
    d.add_argument("--identity", type=int, help="identity id (link/unlink)")
    d.add_argument("--customer", type=int, help="customer id (link, customer notes)")
    d.add_argument("--outbox", type=int, help="outbox id (retry/cancel)")
    d.add_argument("--charge", help="refund: the payment's id (ch_… or pi_…, as in the customer pane), or its order number")
    d.add_argument("--amount", help="refund: how much, e.g. 12.50 (default: all that is left on the charge)")
    d.add_argument("--reason", help="refund: why, kept with the refund and in the conversation")
    d.add_argument("--send", action="store_true", help="push the outbox for this account now instead of at the next sync")

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

    r = sub.add_parser("report", parents=[common], help="supervisor figures as text or JSON",
                       description="The dashboard's figures for a daily summary.")
    r.add_argument("--since", metavar="DATE", help="period start (default: 7 days ago)")
    r.add_argument("--json", action="store_true", help="JSON instead of text")
    return p


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


def _setup_logging(data_dir: Path) -> None:
    try:
        data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        handler = logging.FileHandler(data_dir / "switchboard.log", encoding="utf-8")
    except OSError:
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger("switchboard")
    root.addHandler(handler)
    root.setLevel(logging.INFO)


def parse_date(value: str) -> float:
    try:
        dt = datetime.fromisoformat(value.strip())
    except ValueError:
        raise UserError(f"cannot read the date {value!r}", fix="use 2026-11-01 or 2026-11-01T09:00") from None
    if dt.tzinfo is None:
        dt = dt.astimezone()
    return dt.astimezone(timezone.utc).timestamp()


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


def cmd_sync(session: Session, args) -> int:
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from console.engine import Engine

    db = session.open_db()
    engine = Engine(db, session.config, read_only=session.read_only, service=make_service(session.config),
                    data_dir=session.data_dir)
    if not session.config.accounts:
        raise UserError("no accounts configured", fix="add [[accounts]] to config.toml (see the example), or use --demo")
    console = Console(stderr=True)
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=console, transient=False) as progress:
        tasks = {a.name: progress.add_task(f"{a.name}: starting", total=None) for a in session.config.accounts}

        def show(name: str, detail: str) -> None:
            progress.update(tasks[name], description=f"{name}: syncing — {detail}")

        if args.once:
            states = asyncio.run(engine.run_once(progress=show))
            for name, st in states.items():
                progress.update(tasks[name], description=st.line(), total=1, completed=1)
            for st in states.values():
                for line in st.send_problems:
                    print(f"{st.name}: {line}", file=sys.stderr)
            failed = [s for s in states.values() if s.state not in ("online", "disabled") or s.send_problems]
            return 1 if failed else 0

        async def forever() -> None:
            await engine.start()
            try:
                while True:
                    for name, st in engine.states.items():
                        progress.update(tasks[name], description=st.line())
                    await asyncio.sleep(0.5)
            finally:
                await engine.stop()

        try:
            asyncio.run(forever())
        except KeyboardInterrupt:
            pass
    return 0


def cmd_export(session: Session, args) -> int:
    from console.export import write_jsonl

    db = session.open_db()
    ensure_demo_data(session, db)
    since = parse_date(args.since) if args.since else None
    try:
        write_jsonl(db, sys.stdout, since=since, channel=args.channel)
        sys.stdout.flush()
    except BrokenPipeError:  # `switchboard export | head` is fine
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 0


def cmd_do(session: Session, args) -> int:
    from console import actions

    if args.list or not args.action:
        for a in sorted(actions.REGISTRY.values(), key=lambda a: (a.handler is None, a.id)):
            if a.handler is None:
                continue
            keys = ", ".join(a.keys) or "-"
            flag = " (changes data)" if a.mutating else ""
            print(f"{a.id:18} {keys:12} {a.description}{flag}")
        return 0 if args.list else 2
    if args.action not in actions.REGISTRY:
        raise UserError(f"unknown action {args.action!r}", fix="see `switchboard do --list`")
    db = session.open_db()
    ensure_demo_data(session, db)
    ctx = actions.Context(db=db, agent=session.config.agent_name, role=session.config.role,
                          read_only=session.read_only, config=session.config)
    kwargs = _action_args(args)
    result = actions.perform(ctx, args.action, args.conversation, **kwargs)
    print(("ok: " if result.ok else "refused: " if "read-only" in result.message else "error: ") + result.message,
          file=sys.stdout if result.ok else sys.stderr)
    if result.ok and args.send and args.conversation is not None:
        _send_now(session, db, args.conversation)
    return 0 if result.ok else 1


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
        print(st.line(), file=sys.stderr)
    row = db.execute("SELECT state, last_error FROM outbox WHERE thread_id=? AND kind != 'save_copy' "
                     "ORDER BY id DESC LIMIT 1", (thread_id,)).fetchone()
    if row is not None:
        print(f"outbox: {row['state']}" + (f" — {row['last_error']}" if row["last_error"] else ""))


def cmd_accounts(session: Session, args) -> int:
    from console import secrets

    sub = args.accounts_command
    names = {a.name: a for a in session.config.accounts}
    if sub == "list":
        if not names:
            print("no accounts configured — add [[accounts]] to config.toml (see the example)")
            return 0
        for acc in names.values():
            try:
                has = "secret stored" if secrets.get(acc.name) else "no secret"
            except UserError as exc:
                has = f"keyring unavailable ({exc})"
            print(f"{acc.name:20} {acc.provider:10} {has}")
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
    if sub == "remove":
        if secrets.delete(args.name):
            print(f"removed the secret for {args.name}")
            return 0
        print(f"no secret stored for {args.name}", file=sys.stderr)
        return 1
    raise UserError("say what to do with accounts", fix="switchboard accounts add|list|remove NAME")


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

    return run(session)


def cmd_report(session: Session, args) -> int:
    from console.report import render

    db = session.open_db()
    ensure_demo_data(session, db)
    since = parse_date(args.since) if args.since else None
    print(render(db, session.config, since, args.json))
    return 0


COMMANDS = {
    None: cmd_console, "console": cmd_console, "sync": cmd_sync, "export": cmd_export, "do": cmd_do,
    "accounts": cmd_accounts, "doctor": cmd_doctor, "report": cmd_report,
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
        print(f"switchboard: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
