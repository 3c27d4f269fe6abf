"""Bulk actions: one change on many conversations in one ``perform`` call.

``perform(ctx, "bulk", action="close", threads=[3, 4, 5], **that_action's_args)``.
Each conversation changes in its own savepoint — all or nothing per conversation —
with one audit row each; the result names the ones that could not be changed and
why. Read-only refuses the whole call, like any mutating action.
"""

from __future__ import annotations

from console.actions.gate import Context, Result, _audit
from console.actions.registry import REGISTRY, Action, register
from console.errors import UserError

BULK_ACTIONS = ("close", "reopen", "snooze", "assign", "tag", "priority", "apply_macro", "mark_read", "mark_unread")
# What the notice says was done to them: "3 of 3 conversations closed".
DONE_WORDS = {"close": "closed", "reopen": "reopened", "snooze": "snoozed", "assign": "assigned", "tag": "tagged",
              "priority": "given the new priority", "apply_macro": "given the macro in their draft",
              "mark_read": "marked read", "mark_unread": "marked unread"}


def thread_list(threads) -> list[int]:
    """Conversation ids from a list or from text like "3,4 5" (the command line)."""
    if isinstance(threads, str):
        threads = threads.replace(",", " ").split()
    try:
        ids = [int(t) for t in threads or ()]
    except (TypeError, ValueError):
        raise ValueError("conversations are given by number, e.g. 3,4,5") from None
    if not ids:
        raise ValueError("no conversations given — mark some first")
    return list(dict.fromkeys(ids))


def _bulk(ctx: Context, thread_id: int | None, action: str | None = None, threads=(), **args) -> Result:
    if action not in BULK_ACTIONS:
        raise ValueError(f"{action!r} cannot be done in bulk — use one of: " + ", ".join(BULK_ACTIONS))
    handler = REGISTRY[action].handler
    done: list[int] = []
    failed: dict[int, str] = {}
    for tid in thread_list(threads):
        ctx.db.execute("SAVEPOINT bulk_one")
        try:
            if not ctx.db.execute("SELECT 1 FROM threads WHERE id=? AND merged_into IS NULL", (tid,)).fetchone():
                raise LookupError(f"no conversation {tid}")
            result = handler(ctx, tid, **args)
            if not result.ok:
                raise ValueError(result.message)
        except (UserError, ValueError, LookupError) as exc:
            ctx.db.execute("ROLLBACK TO bulk_one")
            ctx.db.execute("RELEASE bulk_one")
            failed[tid] = str(exc)
            _audit(ctx, action, tid, {**args, "bulk": True}, f"error: {exc}")
            continue
        ctx.db.execute("RELEASE bulk_one")
        done.append(tid)
        _audit(ctx, action, tid, {**args, "bulk": True}, "ok")
    said = f"{len(done)} of {len(done) + len(failed)} conversations {DONE_WORDS[action]}"
    if failed:
        said += "; not changed: " + "; ".join(_why(_name(ctx, tid), why) for tid, why in failed.items())
    return Result(bool(done), said, {"done": done, "failed": failed})


def _why(name: str, why: str) -> str:
    """“Subject” (why) — without the subject twice when the reason already starts with it."""
    return f"{name} {why.removeprefix(name).strip()}" if why.startswith(name) else f"{name} ({why})"


def _name(ctx: Context, thread_id: int) -> str:
    row = ctx.db.execute("SELECT subject FROM threads WHERE id=?", (thread_id,)).fetchone()
    return f"“{row[0]}”" if row and row[0] else f"#{thread_id}"


register(Action("bulk", "Close, tag, assign, snooze or apply a macro on every marked conversation", mutating=True,
                context="inbox", handler=_bulk, show_in_palette=False))
