"""The data-changing actions. Each runs inside ``perform``'s transaction.

A change that the remote side should also see writes an outbox row in the same
transaction as the local change; the dispatcher carries it out later.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import datetime

from console import claims, identity, limits
from console.actions.gate import Context, Result
from console.actions.registry import REGISTRY, Action, register
from console.cache import merged, queries
from console.outbox import send_delay
from console.when import parse_when
from providers.records import PRIORITIES, PRIORITY_BY_NAME


def new_key() -> str:
    return uuid.uuid4().hex


def queue_push(ctx: Context, thread_id: int, kind: str, *, text: str = "", args: dict | None = None,
               draft_started_at: float | None = None, delay: float = 0.0) -> int:
    account_id = ctx.db.execute("SELECT account_id FROM threads WHERE id=?", (thread_id,)).fetchone()[0]
    now = time.time()
    return ctx.db.execute(
        """INSERT INTO outbox(key, thread_id, account_id, kind, text, args, draft_started_at, created_at, author,
                              next_try_at)
           VALUES (?,?,?,?,?,?,?,?,?,?)""",
        (new_key(), thread_id, account_id, kind, text, json.dumps(args or {}), draft_started_at, now,
         ctx.agent, now + delay if delay else 0),
    ).lastrowid


def _thread(ctx: Context, thread_id: int):
    return ctx.db.execute("SELECT * FROM threads WHERE id=?", (thread_id,)).fetchone()


def _text_arg(text: str | None, what: str) -> str:
    if text is None or not text.strip():
        raise ValueError(f"the {what} is empty — write something first")
    return text.rstrip() + "\n" if not text.endswith("\n") else text


# --------------------------------------------------------------------------- replies and notes


def _reply(ctx: Context, thread_id: int, text: str | None = None, kind: str = "reply", at_once: bool = False,
           answering: int | None = None) -> Result:
    """Queue a reply (without ``text``: the saved draft); the draft's pending macro effects run with it.
    It goes out on the channel of the message ``answering`` (default: the customer's newest) and
    waits out the account's undo-send window unless ``at_once``."""
    draft = ctx.db.execute("SELECT started_at, text, effects FROM drafts WHERE thread_id=?", (thread_id,)).fetchone()
    if text is None and draft is not None:
        text = draft["text"]
    body = _text_arg(text, "reply").rstrip("\n")
    started = draft[0] if draft else time.time()
    via = merged.reply_thread(ctx.db, thread_id, answering)
    home = via if via in merged.members(ctx.db, thread_id) else thread_id  # where the sent message shows
    account, channel = ctx.db.execute("SELECT a.name, t.channel FROM threads t JOIN accounts a ON a.id = t.account_id "
                                      "WHERE t.id=?", (via,)).fetchone()
    delay = 0.0 if at_once else send_delay(ctx.config, account, channel)
    limits.refuse_over_limit(ctx.db, queries.thread(ctx.db, via), "private" if kind == "move_private" else "reply",
                             body)
    if _thread(ctx, via)["assignee"] is None and claims.can_claim(ctx.db, via):
        _claim(ctx, via, None)  # starting to send counts as claiming: the claim goes first, the reply waits for it
    before = dict(ctx.db.execute(f"SELECT {', '.join(EFFECT_COLUMNS)} FROM threads WHERE id=?", (thread_id,)).fetchone())
    outbox_id = queue_push(ctx, via, kind, text=body, draft_started_at=started, delay=delay)
    now = time.time()
    msg_id = ctx.db.execute(
        """INSERT INTO messages(thread_id, account_id, direction, author, sent_at, text, state, outbox_id, meta)
           SELECT ?, account_id, 'outbound', ?, ?, ?, 'queued', ?, ? FROM threads WHERE id=?""",
        (home, ctx.agent, now, body, outbox_id, json.dumps({"via": kind} if kind != "reply" else {}), via),
    ).lastrowid
    from console.actions import refund  # a refund a macro offered goes out with the reply

    refunded = refund.on_send(ctx, thread_id)
    ctx.db.execute("DELETE FROM drafts WHERE thread_id=?", (thread_id,))
    ctx.db.execute(
        """UPDATE threads SET status=CASE WHEN status='open' THEN 'pending' ELSE status END,
             last_message_at=MAX(last_message_at, ?), preview=?,
             first_response_at=COALESCE(first_response_at, ?) WHERE id=?""",
        (now, " ".join(body.split())[:160], now, thread_id),
    )
    steps = json.loads(draft["effects"] if draft else "[]")
    done = [REGISTRY[step["action"]].handler(ctx, thread_id, **step["args"]).message for step in steps]
    if delay:  # what cancelling within the window puts back: the conversation's state, the macro's effects
        then = [r[0] for r in ctx.db.execute("SELECT id FROM outbox WHERE thread_id IN (?, ?) AND id>?",
                                             (thread_id, via, outbox_id))]
        ctx.db.execute("UPDATE outbox SET args=? WHERE id=?",
                       (json.dumps({"effects": steps, "before": before, "then": then}), outbox_id))
        # The macro's effects (a refund on the payments account too) wait out the same window.
        ctx.db.execute("UPDATE outbox SET next_try_at=MAX(next_try_at, ?) WHERE id IN (SELECT value FROM json_each(?))",
                       (now + delay, json.dumps(then)))
    # A toast cannot count down: it says when (a clock time never freezes at 0).
    said = "reply queued" + (f" · sends at {datetime.fromtimestamp(now + delay).strftime('%H:%M:%S')} unless cancelled"
                             if delay else "")
    return Result(True, "; ".join([said, *([refunded.message] if refunded else []), *done]),
                  {"outbox_id": outbox_id, "message_id": msg_id, "delay": delay})


EFFECT_COLUMNS = ("status", "snoozed_until", "tags", "priority", "assignee")  # what macro effects can change


def _move_private(ctx: Context, thread_id: int, text: str | None = None, at_once: bool = False) -> Result:
    return _reply(ctx, thread_id, text, kind="move_private", at_once=at_once)


def _note(ctx: Context, thread_id: int, text: str | None = None) -> Result:
    body = _text_arg(text, "note").rstrip("\n")
    outbox_id = queue_push(ctx, thread_id, "note", text=body)
    msg_id = ctx.db.execute(
        """INSERT INTO messages(thread_id, account_id, direction, author, sent_at, text, state, outbox_id)
           SELECT id, account_id, 'note', ?, ?, ?, 'local', ? FROM threads WHERE id=?""",
        (ctx.agent, time.time(), body, outbox_id, thread_id),
    ).lastrowid
    ctx.db.execute("DELETE FROM drafts WHERE thread_id=?", (thread_id,))
    return Result(True, "note added", {"message_id": msg_id})


def _save_draft(ctx: Context, thread_id: int, text: str = "", kind: str = "reply") -> Result:
    now = time.time()
    if not text.strip():
        ctx.db.execute("DELETE FROM drafts WHERE thread_id=?", (thread_id,))
        return Result(True, "draft discarded")
    ctx.db.execute(
        """INSERT INTO drafts(thread_id, kind, text, started_at, updated_at) VALUES (?,?,?,?,?)
           ON CONFLICT(thread_id) DO UPDATE SET kind=excluded.kind, text=excluded.text, updated_at=excluded.updated_at""",
        (thread_id, kind, text, now, now),
    )
    return Result(True, "draft saved")


def _discard_draft(ctx: Context, thread_id: int) -> Result:
    ctx.db.execute("DELETE FROM drafts WHERE thread_id=?", (thread_id,))
    return Result(True, "draft discarded")


def _outbox_row(ctx: Context, thread_id: int, outbox_id: int | None):
    threads = json.dumps(merged.members(ctx.db, thread_id) + [merged.reply_thread(ctx.db, thread_id)])
    if outbox_id is None:  # failed or held, or a reply still waiting in its undo-send window
        row = ctx.db.execute(
            """SELECT * FROM outbox WHERE thread_id IN (SELECT value FROM json_each(?)) AND (state IN ('failed','held')
                 OR (state='queued' AND kind IN ('reply','move_private') AND next_try_at > ?)) ORDER BY id DESC LIMIT 1""",
            (threads, time.time())).fetchone()
    else:
        row = ctx.db.execute("SELECT * FROM outbox WHERE id=? AND thread_id IN (SELECT value FROM json_each(?))",
                             (int(outbox_id), threads)).fetchone()
    if row is None:
        raise LookupError("nothing failed or held to act on in this conversation")
    return row


def _what(row) -> str:
    """An outbox row in words: 'reply', 'note', 'tag change'…"""
    return {"reply": "reply", "move_private": "private reply", "note": "note", "refund": "refund"}.get(
        row["kind"], f"{row['kind'].replace('_', ' ')} change")


def _retry(ctx: Context, thread_id: int, outbox_id: int | None = None) -> Result:
    row = _outbox_row(ctx, thread_id, outbox_id)
    if row["state"] not in ("failed", "held"):
        raise ValueError(f"that {_what(row)} is {row['state']}, not failed or held — nothing to send again")
    args = json.loads(row["args"])
    if row["state"] == "held":
        args["force"] = True  # the agent has seen the customer's newer message
    ctx.db.execute("UPDATE outbox SET state='queued', next_try_at=0, last_error='', args=? WHERE id=?",
                   (json.dumps(args), row["id"]))
    ctx.db.execute("UPDATE messages SET state='queued' WHERE outbox_id=?", (row["id"],))
    return Result(True, "queued again", {"outbox_id": row["id"]})


def _cancel_send(ctx: Context, thread_id: int, outbox_id: int | None = None) -> Result:
    """Withdraw a failed or held reply; its text goes back into the draft."""
    row = _outbox_row(ctx, thread_id, outbox_id)
    if row["state"] not in ("failed", "held", "queued"):
        raise ValueError(f"that {_what(row)} is already {row['state']}: too late to cancel")
    ctx.db.execute("DELETE FROM messages WHERE outbox_id=?", (row["id"],))
    ctx.db.execute("UPDATE outbox SET state='cancelled' WHERE id=?", (row["id"],))
    carried = json.loads(row["args"] or "{}")
    steps: list = []
    took_back = False
    then = carried.get("then", [])
    among = f"id IN ({','.join('?' * len(then))})"
    if "before" in carried and ctx.db.execute(f"SELECT COUNT(*) FROM outbox WHERE state='queued' AND {among}",
                                              then).fetchone()[0] == len(then):
        # Cancelled within the undo-send window, its macro's effects not gone out either: take all back.
        took_back = True
        ctx.db.execute(f"UPDATE outbox SET state='cancelled' WHERE {among}", then)
        ctx.db.execute(f"DELETE FROM messages WHERE outbox_id IN (SELECT id FROM outbox WHERE {among})", then)
        steps = carried["effects"]
        before = carried["before"]
        ctx.db.execute(f"UPDATE threads SET {', '.join(c + '=?' for c in before)} WHERE id=?",
                       (*before.values(), thread_id))
    if row["kind"] in ("reply", "move_private") and row["text"]:
        now = time.time()
        ctx.db.execute(
            """INSERT INTO drafts(thread_id, kind, text, started_at, updated_at, effects) VALUES (?, 'reply', ?, ?, ?, ?)
               ON CONFLICT(thread_id) DO UPDATE SET text=excluded.text || char(10) || drafts.text""",
            (thread_id, row["text"], now, now, json.dumps(steps)))
    if took_back:  # a refund the macro offered is offered again with the draft
        ctx.db.execute(
            f"""INSERT OR REPLACE INTO draft_refunds(thread_id, charge, amount, reason, created_at)
                SELECT ?, json_extract(args, '$.charge'), json_extract(args, '$.amount'),
                       json_extract(args, '$.reason'), ? FROM outbox WHERE kind='refund' AND {among}""",
            (thread_id, time.time(), *then))
    return Result(True, "sending cancelled; the text is back in the draft" + (
        " with its macro's effects" if took_back and then else ""))


# --------------------------------------------------------------------------- conversation state


def _set_status(ctx: Context, thread_id: int, status: str, kind: str) -> Result:
    t = _thread(ctx, thread_id)
    if t["status"] == status:
        return Result(True, f"already {status}")
    ctx.db.execute("UPDATE threads SET status=?, snoozed_until=NULL WHERE id=?", (status, thread_id))
    queue_push(ctx, thread_id, kind)
    return Result(True, "conversation reopened" if kind == "reopen" else f"conversation {status}")


def _close(ctx: Context, thread_id: int, confirmed: bool = False) -> Result:
    """Close; a conversation holding an unsent draft is not closed until ``confirmed``: the
    result says so (``data["needs_confirmation"]``) and the UI asks, then calls again."""
    draft = ctx.db.execute("SELECT 1 FROM drafts WHERE thread_id=? AND text != ''", (thread_id,)).fetchone()
    if draft and not confirmed:
        return Result(False, f"“{_thread(ctx, thread_id)['subject']}” has an unsent draft — send or discard it, "
                             "or close anyway (the draft is kept)", {"needs_confirmation": True})
    return _set_status(ctx, thread_id, "closed", "close")


def _reopen(ctx: Context, thread_id: int) -> Result:
    return _set_status(ctx, thread_id, "open", "reopen")


UNTIL_REPLY = ("reply", "replied", "customer replies")


def _snooze(ctx: Context, thread_id: int, until: str | float = "tomorrow") -> Result:
    """Snooze until a time, or until the customer replies (``until="reply"``: ingest wakes it;
    kept local, as no provider has such a snooze)."""
    if isinstance(until, str) and until.strip().lower() in UNTIL_REPLY:
        ctx.db.execute("UPDATE threads SET status='snoozed', snoozed_until=NULL WHERE id=?", (thread_id,))
        return Result(True, "snoozed until the customer replies", {"until": None})
    when = parse_when(until)
    if when <= time.time():
        raise ValueError("snooze time is in the past — pick a later time")
    ctx.db.execute("UPDATE threads SET status='snoozed', snoozed_until=? WHERE id=?", (when, thread_id))
    queue_push(ctx, thread_id, "snooze", args={"until": when})
    stamp = datetime.fromtimestamp(when).astimezone().strftime("%a %d %b %H:%M")
    return Result(True, f"snoozed until {stamp}", {"until": when})


def _claim(ctx: Context, thread_id: int, expect: str | None) -> int:
    """Queue this agent's claim on the conversation (one pending claim is enough); see console/claims.py."""
    earlier = claims.pending(ctx.db, thread_id)
    if earlier is not None:
        return earlier["id"]
    return queue_push(ctx, thread_id, "claim", args={"agent": ctx.agent, "expect": expect})


def _assign(ctx: Context, thread_id: int, to: str | None = "me") -> Result:
    name = ctx.agent if to in (None, "", "me") else str(to).strip()
    if to == "nobody":
        name = None
    if name == ctx.agent and claims.can_claim(ctx.db, thread_id):
        # "Assign to me" asks the system of record; the conversation is ours once it says so.
        current = _thread(ctx, thread_id)["assignee"]
        if current == name and claims.pending(ctx.db, thread_id) is None:
            return Result(True, f"already assigned to {name}")
        outbox_id = _claim(ctx, thread_id, current)
        return Result(True, "claiming — it is yours once the server confirms (another agent may have it first)",
                      {"outbox_id": outbox_id, "claim": True})
    ctx.db.execute("UPDATE threads SET assignee=? WHERE id=?", (name, thread_id))
    queue_push(ctx, thread_id, "assign", args={"to": name})
    return Result(True, f"assigned to {name}" if name else "unassigned")


def _tag(ctx: Context, thread_id: int, add: list[str] | str = (), remove: list[str] | str = ()) -> Result:
    add = [add] if isinstance(add, str) else list(add)
    remove = [remove] if isinstance(remove, str) else list(remove)
    add = [t.strip().lower() for t in add if t.strip()]
    remove = [t.strip().lower() for t in remove if t.strip()]
    if not add and not remove:
        raise ValueError("no tags given — name a tag to add or remove")
    tags = set(json.loads(_thread(ctx, thread_id)["tags"]))
    tags = (tags | set(add)) - set(remove)
    ctx.db.execute("UPDATE threads SET tags=? WHERE id=?", (json.dumps(sorted(tags)), thread_id))
    queue_push(ctx, thread_id, "tag", args={"add": add, "remove": remove})
    return Result(True, "tags: " + (", ".join(sorted(tags)) or "none"), {"tags": sorted(tags)})


def _priority(ctx: Context, thread_id: int, level: str | int = "normal") -> Result:
    if isinstance(level, str) and not level.isdigit():
        if level.lower() not in PRIORITY_BY_NAME:
            raise ValueError(f"unknown priority {level!r} — use low, normal, high or urgent")
        value = PRIORITY_BY_NAME[level.lower()]
    else:
        value = int(level)
        if value not in PRIORITIES:
            raise ValueError("priority must be 0-3 (low, normal, high, urgent)")
    ctx.db.execute("UPDATE threads SET priority=? WHERE id=?", (value, thread_id))
    queue_push(ctx, thread_id, "priority", args={"level": value})
    return Result(True, f"priority {PRIORITIES[value]}")


def _mark_read(ctx: Context, thread_id: int) -> Result:
    if not _thread(ctx, thread_id)["unread"]:
        return Result(True, "already read")
    ctx.db.execute("UPDATE threads SET unread=0 WHERE id=?", (thread_id,))
    queue_push(ctx, thread_id, "mark_read")
    return Result(True, "marked read")


def _mark_unread(ctx: Context, thread_id: int) -> Result:
    ctx.db.execute("UPDATE threads SET unread=1 WHERE id=?", (thread_id,))
    queue_push(ctx, thread_id, "mark_unread")
    return Result(True, "marked unread")


# --------------------------------------------------------------------------- customers


def _link(ctx: Context, thread_id: int | None, identity_id: int, customer_id: int) -> Result:
    identity.link(ctx.db, int(identity_id), int(customer_id), who=ctx.agent)
    return Result(True, f"{_address(ctx, identity_id)} linked to {_customer_name(ctx, customer_id)}",
                  {"customer_id": int(customer_id)})


def _unlink(ctx: Context, thread_id: int | None, identity_id: int) -> Result:
    undone = "SELECT COUNT(*) FROM identity_links WHERE identity_id=? AND undone_at IS NOT NULL"
    before = ctx.db.execute(undone, (int(identity_id),)).fetchone()[0]
    new_id = identity.unlink(ctx.db, int(identity_id), who=ctx.agent)
    if ctx.db.execute(undone, (int(identity_id),)).fetchone()[0] > before:  # a link was taken back
        return Result(True, f"{_address(ctx, identity_id)} is back with {_customer_name(ctx, new_id)}",
                      {"customer_id": new_id})
    return Result(True, f"{_address(ctx, identity_id)} is a customer of its own now (it was never linked by hand)",
                  {"customer_id": new_id})


def _address(ctx: Context, identity_id: int) -> str:
    return ctx.db.execute("SELECT address FROM identities WHERE id=?", (int(identity_id),)).fetchone()[0]


def _customer_name(ctx: Context, customer_id: int) -> str:
    return ctx.db.execute("SELECT name FROM customers WHERE id=?", (int(customer_id),)).fetchone()[0] or "a new customer"


def _customer_note(ctx: Context, thread_id: int | None, text: str | None = None, customer_id: int | None = None) -> Result:
    body = _text_arg(text, "note").strip()
    if customer_id is None:
        if thread_id is None:
            raise ValueError("name a conversation or a customer")
        customer_id = _thread(ctx, thread_id)["customer_id"]
    ctx.db.execute("INSERT INTO customer_notes(customer_id, author, text, created_at) VALUES (?,?,?,?)",
                   (int(customer_id), ctx.agent, body, time.time()))
    return Result(True, "customer note saved")


for _action in [
    Action("reply", "Send a reply on the conversation's channel", mutating=True, context="thread",
           needs_thread=True, handler=_reply, show_in_palette=False),
    Action("move_private", "Answer a public post with a private message", mutating=True, context="thread",
           needs_thread=True, handler=_move_private),
    Action("note", "Add an internal note (never sent to the customer)", mutating=True, context="thread",
           needs_thread=True, handler=_note, show_in_palette=False),
    Action("save_draft", "Keep the draft", mutating=True, context="composer", needs_thread=True,
           handler=_save_draft, show_in_palette=False),
    Action("discard_draft", "Throw the draft away", mutating=True, context="composer", needs_thread=True,
           handler=_discard_draft),
    Action("retry_send", "Send a failed or held reply again", ("R",), mutating=True, context="thread",
           needs_thread=True, handler=_retry),
    Action("cancel_send", "Withdraw a failed or held reply back into the draft", mutating=True, context="thread",
           needs_thread=True, handler=_cancel_send),
    Action("close", "Close (resolve) the conversation", ("e",), mutating=True, context="thread", needs_thread=True,
           handler=_close),
    Action("reopen", "Reopen the conversation", ("o",), mutating=True, context="thread", needs_thread=True,
           handler=_reopen),
    Action("snooze", "Snooze until a time", mutating=True, context="thread", needs_thread=True, handler=_snooze,
           show_in_palette=False),
    Action("assign", "Assign to an agent", mutating=True, context="thread", needs_thread=True, handler=_assign,
           show_in_palette=False),
    Action("tag", "Add or remove tags", mutating=True, context="thread", needs_thread=True, handler=_tag,
           show_in_palette=False),
    Action("priority", "Set the priority", mutating=True, context="thread", needs_thread=True, handler=_priority,
           show_in_palette=False),
    Action("mark_read", "Mark as read", mutating=True, context="thread", needs_thread=True, handler=_mark_read,
           show_in_palette=False),
    Action("mark_unread", "Mark as unread", ("u",), mutating=True, context="thread", needs_thread=True,
           handler=_mark_unread),
    Action("link_identity", "Link an identity to this customer", ("L",), mutating=True, context="customer",
           handler=_link),
    Action("unlink_identity", "Undo an identity's link (back to the customer it came from)", ("U",), mutating=True, context="customer",
           handler=_unlink),
    Action("customer_note", "Add a note about the customer", ("N",), mutating=True, context="customer",
           handler=_customer_note),
]:
    register(_action)
