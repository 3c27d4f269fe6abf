"""``perform``: read-only refusal, one transaction, audit."""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass, field
from typing import Any

from console.actions import history
from console.actions.registry import REGISTRY
from console.cache.db import explain, transaction
from console.errors import ReadOnlyError, UserError


@dataclass
class Context:
    """Who is acting, with what rights, on which cache."""

    db: sqlite3.Connection
    agent: str = "agent"
    role: str = "agent"  # agent | supervisor
    read_only: bool = False
    config: Any = None  # console.config.Config, for macros, agents, SLA policies

    @property
    def refuses_changes(self) -> bool:
        return self.read_only or self.role == "supervisor"


@dataclass
class Result:
    ok: bool
    message: str = ""
    data: dict[str, Any] = field(default_factory=dict)


def check(ctx: Context, action_id: str) -> None:
    """Raise :class:`ReadOnlyError` if ``action_id`` may not run here (for UIs that open a form first)."""
    action = REGISTRY.get(action_id)
    if action is None:
        raise UserError(f"unknown action {action_id!r}", fix="see `switchboard do --list`")
    if action.mutating and ctx.refuses_changes:
        raise ReadOnlyError(f"read-only: cannot {doing(action)}",
                            fix="this console only watches: nothing can be changed from it"
                            if ctx.read_only else "supervisor mode can watch but not change anything")


def doing(action) -> str:
    """What an action does, in words for a sentence: 'close (resolve) the conversation'."""
    words = action.description.split(";")[0].split(" (for ")[0].strip()
    return words[:1].lower() + words[1:]


def perform(ctx: Context, action_id: str, thread_id: int | None = None, **args: Any) -> Result:
    """Carry out a registered action; never raises for a refused or invalid action."""
    action = REGISTRY.get(action_id)
    if action is None:
        return Result(False, f"unknown action {action_id!r} — see `switchboard do --list`")
    try:
        check(ctx, action_id)
    except ReadOnlyError as exc:
        _audit(ctx, action_id, thread_id, args, f"refused: {exc}")
        return Result(False, str(exc))
    if action.handler is None:
        return Result(False, f"{action_id} is a screen action; it has nothing to do headless")
    if action.needs_thread and (
        thread_id is None or not ctx.db.execute("SELECT 1 FROM threads WHERE id=?", (thread_id,)).fetchone()
    ):
        msg = f"no conversation {thread_id}" if thread_id is not None else f"{action_id} needs a conversation id"
        _audit(ctx, action_id, thread_id, args, f"error: {msg}")
        return Result(False, msg)
    try:
        with transaction(ctx.db):
            mark = history.before(ctx.db, action_id, thread_id, args)
            result = action.handler(ctx, thread_id, **args)
            if result.ok and mark is not None:
                history.record(ctx.db, ctx.agent, mark)  # so that `undo` can take it back
            _audit(ctx, action_id, thread_id, args, "ok" if result.ok else f"error: {result.message}")
        return result
    except UserError as exc:
        _audit_safely(ctx, action_id, thread_id, args, f"error: {exc}")
        return Result(False, str(exc))
    except (ValueError, LookupError) as exc:  # their text is written for the agent: it says what and why
        _audit_safely(ctx, action_id, thread_id, args, f"error: {exc}")
        return Result(False, str(exc))
    except TypeError as exc:  # arguments that do not fit the action (a script, the command line)
        _audit_safely(ctx, action_id, thread_id, args, f"error: {exc}")
        return Result(False, f"cannot {doing(action)} with {', '.join(map(repr, args)) or 'no arguments'} "
                             "— see `switchboard do --list` for what it takes")
    except sqlite3.Error as exc:
        err = explain(exc)
        _audit_safely(ctx, action_id, thread_id, args, f"error: {err}")
        return Result(False, str(err))


def _audit(ctx: Context, action_id: str, thread_id: int | None, args: dict, result: str) -> None:
    safe_args = {k: (v if not isinstance(v, str) or len(v) < 200 else v[:200] + "…") for k, v in args.items()}
    ctx.db.execute(
        "INSERT INTO audit(at, who, role, action, thread_id, args, result) VALUES (?,?,?,?,?,?,?)",
        (time.time(), ctx.agent, "read-only" if ctx.read_only else ctx.role, action_id, thread_id,
         json.dumps(safe_args, default=str), result),
    )


def _audit_safely(ctx, *a) -> None:
    try:
        _audit(ctx, *a)
    except sqlite3.Error:
        pass  # the disk may be full: the action's own error already says so
