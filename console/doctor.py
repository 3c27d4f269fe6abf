"""`switchboard doctor`: check config, keyring, cache and every account; say how to fix each problem."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable

from console.config import default_config_path
from console.errors import UserError
from console.output import say

CHECK_TIMEOUT = 20.0


def run(session, keymap_problems: Callable[[dict], list[str]] | None = None) -> int:
    """Print one line per check; 1 if any failed. Reads everything and writes nothing: no
    cache, log or state file is created. ``keymap_problems`` is the console's own check of
    ``[keymap]`` (clashes, unknown ids and key names), handed in so both say the same."""
    problems = 0

    def ok(what: str, detail: str = "") -> None:
        say(f"  ok    {what}" + (f": {detail}" if detail else ""), err=False)

    def bad(what: str, detail: str) -> None:
        nonlocal problems
        problems += 1
        say(f"  FAIL  {what}: {detail}", err=False)

    if session.demo:
        ok("config", f"embedded demo config, {len(session.config.accounts)} account(s)")
    elif session.config.path is None:
        bad("config", f"no config file at {default_config_path()} — copy the example config.toml there, "
                      "or pass --config FILE")
    else:
        ok("config", f"{session.config.path}, {len(session.config.accounts)} account(s), role {session.config.role}")
    try:
        from console.service import Service

        Service(session.config)
        ok("triage, SLA and macros settings")
    except UserError as exc:
        bad("triage, SLA and macros settings", str(exc))
    if keymap_problems is not None:
        found = keymap_problems(session.config.keymap)
        for line in found:
            bad("keymap", line.removeprefix("keymap: "))
        if not found:
            ok("keymap", f"{len(session.config.keymap)} key(s) remapped" if session.config.keymap else "defaults")

    from console import secrets

    keyring_ok = True
    try:
        ok("keyring", secrets.check_backend())
    except UserError as exc:
        keyring_ok = False
        bad("keyring", str(exc))

    check_cache(session.cache_path, ok, bad)

    from console.engine import build_provider
    from providers.base import ProviderError

    for acc in session.config.accounts:
        label = f"account {acc.name} ({acc.provider})"
        if not acc.enabled:
            ok(label, "disabled")
            continue
        try:
            provider = build_provider(acc, session.data_dir)
        except (ProviderError, UserError) as exc:
            bad(label, str(exc))
            continue
        if provider.needs_secret and "oauth_token_command" not in {k for k, v in acc.options.items() if v}:
            try:
                has_secret = keyring_ok and bool(secrets.get(acc.name))
            except UserError:
                has_secret = False
            if not has_secret:
                bad(label, f"no {provider.secret_label} in the keyring — run: switchboard accounts add {acc.name}")
                continue
        try:
            detail = asyncio.run(asyncio.wait_for(provider.check(), timeout=CHECK_TIMEOUT))
            ok(label, detail)
        except asyncio.TimeoutError:
            bad(label, f"no answer within {CHECK_TIMEOUT:.0f} s — check the host, port and network")
        except ProviderError as exc:
            bad(label, str(exc))
        except Exception as exc:  # an adapter bug must not hide the other accounts' results
            bad(label, f"unexpected {type(exc).__name__}: {exc}")
    if session.config.team is not None:
        check_team(session, keyring_ok, ok, bad)
    say(f"{problems} problem(s) found" if problems else "everything looks right")
    return 1 if problems else 0


def check_cache(path, ok, bad) -> None:
    """The cache as it is on disk, opened read-only: absent is fine (the first sync makes it)."""
    from console.cache.db import explain, open_existing
    from console.cache.schema import SCHEMA_VERSION

    try:
        db = open_existing(path)
        if db is None:
            ok("cache", f"none yet at {path} — `switchboard sync --once` creates it")
            return
        try:
            result = db.execute("PRAGMA quick_check").fetchone()[0]
            if result != "ok":
                bad("cache", f"{path} is damaged ({result}) — move it aside; `switchboard sync --once` "
                             "pulls provider data again")
                return
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                bad("cache", f"{path} was written by a newer Switchboard (schema {version}, this one knows "
                             f"{SCHEMA_VERSION}) — upgrade Switchboard, or use another --profile")
                return
            count = db.execute("SELECT COUNT(*) FROM threads").fetchone()[0] if version else 0
            ok("cache", f"{path} ({count} conversations)" + (" — upgraded on next use" if version < SCHEMA_VERSION else ""))
        finally:
            db.close()
    except sqlite3.Error as exc:
        bad("cache", str(explain(exc, path)))


def check_team(session, keyring_ok: bool, ok, bad) -> None:
    """[team]: the secret, the sign-in, the rooms and whether this agent may announce there."""
    from console import secrets
    from console.team.presence import transport_for
    from providers.base import ProviderError

    team = session.config.team
    label = f"team ({team.user_id}, {len(team.rooms)} room(s))"
    try:
        has_secret = keyring_ok and bool(secrets.get("team"))
    except UserError:
        has_secret = False
    if not has_secret:
        bad(label, "no password or token in the keyring — run: switchboard accounts add team")
        return
    try:
        transport = transport_for(session.config, None)  # no state file: doctor leaves nothing behind
        detail = asyncio.run(asyncio.wait_for(transport.check(session.read_only), timeout=CHECK_TIMEOUT))
        ok(label, detail + (" (read-only: announces nothing)" if session.read_only else ""))
    except asyncio.TimeoutError:
        bad(label, f"no answer within {CHECK_TIMEOUT:.0f} s — check team.homeserver and the network")
    except ProviderError as exc:
        bad(label, str(exc))
