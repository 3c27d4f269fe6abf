"""`switchboard doctor`: check config, keyring, cache and every account; say how to fix each problem."""

from __future__ import annotations

import asyncio
import sqlite3
import sys

from console.errors import UserError

CHECK_TIMEOUT = 20.0


def run(session) -> int:
    problems = 0

    def ok(what: str, detail: str = "") -> None:
        print(f"  ok    {what}" + (f": {detail}" if detail else ""))

    def bad(what: str, detail: str) -> None:
        nonlocal problems
        problems += 1
        print(f"  FAIL  {what}: {detail}")

    where = "embedded demo config" if session.demo else str(session.config.path or "no config file (defaults)")
    ok("config", f"{where}, {len(session.config.accounts)} account(s), role {session.config.role}")
    try:
        from console.service import Service

        Service(session.config)
        ok("triage, SLA and macros settings")
    except UserError as exc:
        bad("triage, SLA and macros settings", str(exc))

    from console import secrets

    keyring_ok = True
    try:
        ok("keyring", secrets.check_backend())
    except UserError as exc:
        keyring_ok = False
        bad("keyring", str(exc))

    try:
        db = session.open_db()
        result = db.execute("PRAGMA quick_check").fetchone()[0]
        if result == "ok":
            count = db.execute("SELECT COUNT(*) FROM threads").fetchone()[0]
            ok("cache", f"{session.cache_path} ({count} conversations)")
        else:
            bad("cache", f"{session.cache_path} is damaged ({result}) — move it aside; `switchboard sync --once` "
                         "pulls provider data again")
    except (UserError, sqlite3.Error) as exc:
        bad("cache", str(exc))

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
    print(f"{problems} problem(s) found" if problems else "everything looks right", file=sys.stderr)
    return 1 if problems else 0
