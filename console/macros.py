"""Macros: named canned replies with variables and optional side effects.

Defined in config.toml as ``[[macros]]`` tables (name, text, and optionally tags,
priority, snooze, close, description, refund) and/or as files in a folder named by a
``[[macros]]`` entry with ``dir = "…"``: one ``.md`` or ``.txt`` file per macro,
the file name is the macro's name unless front matter says ``name: …``; the same
optional settings go in the front matter.

Variables in the text: {customer.first_name} {customer.name} {agent.name}
{agent.first_name} {order.number} (latest order) {thread.subject} {thread.id}.
Write ``{{`` and ``}}`` for literal braces.

Macros act on send, not on insert. The mutating action ``apply_macro`` (argument
``name``) appends the rendered text to the conversation's draft and records the
macro's effects on that draft ("on send: tag refund, close"); nothing else changes.
When the draft is sent (``reply``), the effects run through the core actions in the
same transaction as the reply is queued; discarding the draft drops them. The same
holds on the command line: ``switchboard do apply_macro 42 --name refund`` saves the
draft, ``switchboard do reply 42`` (no ``--text``) sends it with its effects.
A ``refund`` ("full" or an amount) is only offered the same way: kept with the draft
(``console.actions.refund``), refunded when the reply is sent. :func:`preview` gives the chooser the rendered text and the effects.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from console import sections
from console.actions import domain
from console.actions.gate import Context, Result
from console.actions.registry import Action, register
from console.errors import ConfigError, UserError
from providers.records import PRIORITY_BY_NAME

VARIABLES = ("customer.first_name", "customer.name", "agent.name", "agent.first_name", "order.number",
             "thread.subject", "thread.id")
_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")
_KEYS = ("name", "text", "tags", "priority", "snooze", "close", "description", "refund")


@dataclass(frozen=True)
class Macro:
    name: str
    text: str
    tags: tuple[str, ...] = ()
    priority: int | None = None
    snooze: str | None = None  # e.g. "2d", "tomorrow", "monday"
    close: bool = False
    description: str = ""
    source: str = "config.toml"
    refund: str | None = None  # "full" or an amount: the latest payment, refunded when the reply is sent

    @property
    def effects(self) -> list[str]:
        """The effects in words, as the chooser and the draft show them."""
        return [say for _, _, say in self.steps] + ([f"refund {self.refund} of the latest payment"] if self.refund else [])

    @property
    def steps(self) -> list[tuple[str, dict, str]]:
        """(action id, arguments, words) for each effect, in the order they run on send."""
        out: list[tuple[str, dict, str]] = [("tag", {"add": list(self.tags)}, "tag " + ", ".join(self.tags))] \
            if self.tags else []
        if self.priority is not None:
            name = [k for k, v in PRIORITY_BY_NAME.items() if v == self.priority][0]
            out.append(("priority", {"level": self.priority}, f"priority {name}"))
        if self.snooze:
            out.append(("snooze", {"until": self.snooze}, f"snooze {self.snooze}"))
        if self.close:
            out.append(("close", {}, "close"))
        return out


@dataclass(frozen=True)
class Preview:
    """What the chooser shows before a macro is applied."""

    name: str
    text: str
    effects: tuple[str, ...]

    @property
    def on_send(self) -> str:
        return "on send: " + ", ".join(self.effects) if self.effects else ""


def variables_in(text: str) -> list[str]:
    return [m.group(1).strip() for m in _PLACEHOLDER.finditer(text) if m.group(1) is not None]


def parse(raw: dict, where: str = "config.toml", base: Path | None = None) -> dict[str, Macro]:
    """Every macro from ``[[macros]]`` and macro folders, checked; name -> Macro (file order)."""
    entries = raw.get("macros", [])
    if not isinstance(entries, list):
        raise ConfigError(f"{where}: macros must be [[macros]] tables", fix='write each as [[macros]] with name and text')
    out: dict[str, Macro] = {}
    for n, entry in enumerate(entries, 1):
        label = f"{where}: [[macros]] #{n}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{label} is not a table", fix='write name = "…", text = "…"')
        if "dir" in entry:
            extra = set(entry) - {"dir"}
            if extra:
                raise ConfigError(f"{label}: a dir entry takes no other settings ({sorted(extra)[0]!r})",
                                  fix="put settings in each macro file's front matter")
            for macro in _folder(entry["dir"], label, base):
                _add(out, macro, label)
            continue
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"{label} has no name", fix='add name = "refund-approved"')
        _add(out, _macro(entry, f'{label} "{name}"', where), label)
    return out


def _add(out: dict[str, Macro], macro: Macro, label: str) -> None:
    if macro.name in out:
        raise ConfigError(f"{label}: macro {macro.name!r} is defined twice ({out[macro.name].source} and {macro.source})",
                          fix="rename one of them")
    out[macro.name] = macro


def _folder(value: Any, label: str, base: Path | None) -> list[Macro]:
    folder = sections.folder_path(value, f"{label}: dir", base, example='dir = "~/switchboard/macros"')
    if not folder.is_dir():
        raise ConfigError(f"{label}: macro folder {folder} does not exist", fix="create it or fix the dir setting")
    from console.knowledge import front_matter

    macros = []
    for path in sorted(p for p in folder.iterdir() if p.suffix in (".md", ".txt") and p.is_file()):
        text = path.read_text(encoding="utf-8", errors="replace").replace("\r\n", "\n")
        meta: dict[str, Any] = {}
        if text.startswith("---\n") and (end := text.find("\n---", 4)) != -1:
            meta = front_matter(text[4:end])
            text = text[end + 4:].lstrip("-").lstrip("\n")
        meta.setdefault("name", path.stem)
        meta["text"] = text
        macros.append(_macro(meta, f"{label} file {path.name}", str(path)))
    return macros


def _macro(entry: dict, label: str, source: str) -> Macro:
    unknown = set(entry) - set(_KEYS)
    if unknown:
        raise ConfigError(f"{label}: unknown setting {sorted(unknown)[0]!r}", fix="use " + ", ".join(_KEYS))
    text = entry.get("text")
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{label} has no text", fix='add text = """Hi {customer.first_name}, …"""')
    for var in variables_in(text):
        if var not in VARIABLES:
            raise ConfigError(f"{label}: unknown variable {{{var}}}", fix="use one of: " + ", ".join(
                "{" + v + "}" for v in VARIABLES) + " (write {{ }} for literal braces)")
    tags = entry.get("tags", [])
    if isinstance(tags, str):
        tags = [t.strip() for t in tags.split(",") if t.strip()]
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise ConfigError(f"{label}: tags must be a list of strings", fix='e.g. tags = ["refund"]')
    priority = entry.get("priority")
    if priority is not None:
        if not isinstance(priority, str) or priority.lower() not in PRIORITY_BY_NAME:
            raise ConfigError(f"{label}: priority = {priority!r}", fix="use low, normal, high or urgent")
        priority = PRIORITY_BY_NAME[priority.lower()]
    snooze = entry.get("snooze")
    if snooze is not None:
        try:
            if str(snooze).strip().lower() not in domain.UNTIL_REPLY:
                domain.parse_when(str(snooze))
        except ValueError:
            raise ConfigError(f"{label}: snooze = {snooze!r} is not a time",
                              fix="use 2h, 3d, 1w, tomorrow, a weekday or reply") from None
        snooze = str(snooze)
    close = entry.get("close", False)
    if not isinstance(close, bool):
        raise ConfigError(f"{label}: close must be true or false", fix="write close = true")
    if close and snooze:
        raise ConfigError(f"{label}: both close and snooze", fix="pick one of them")
    description = entry.get("description", "")
    refund = entry.get("refund")
    if refund is not None and refund != "full":
        try:
            ok = not isinstance(refund, bool) and float(refund) > 0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ConfigError(f"{label}: refund = {refund!r}", fix='use refund = "full" or an amount, e.g. refund = 10.00')
    return Macro(name=str(entry["name"]).strip(), text=text.strip("\n"), tags=tuple(t.strip().lower() for t in tags),
                 priority=priority, snooze=snooze, close=close, description=str(description), source=source,
                 refund=None if refund is None else str(refund))


def all_macros(config: Any) -> dict[str, Macro]:
    return config.macros


def names(config: Any) -> list[str]:
    """Macro names in the order they are defined."""
    return list(all_macros(config))


def get(config: Any, name: str) -> Macro:
    macros = all_macros(config)
    if name not in macros:
        raise UserError(f"no macro named {name!r}", fix="use one of: " + (", ".join(macros) or "(none configured)"))
    return macros[name]


def _first_name(name: str) -> str:
    parts = name.split()
    return parts[0] if parts else ""


def _values(db: sqlite3.Connection, thread_id: int, agent: Any) -> dict[str, Any]:
    t = db.execute(
        """SELECT t.id, t.subject, t.customer_id, COALESCE(c.name, '') AS customer, COALESCE(i.display_name, '') AS display
           FROM threads t LEFT JOIN customers c ON c.id = t.customer_id LEFT JOIN identities i ON i.id = t.identity_id
           WHERE t.id=?""", (thread_id,)).fetchone()
    if t is None:
        raise LookupError(f"no conversation {thread_id}")
    name = t["customer"]
    if not name or "@" in name or not re.search(r"[^\W\d_]", name):
        name = t["display"] if t["display"] and "@" not in t["display"] else ""
    agent_name = getattr(agent, "name", agent) or "agent"
    order = db.execute("SELECT number FROM orders WHERE customer_id=? ORDER BY placed_at DESC, id DESC LIMIT 1",
                       (t["customer_id"],)).fetchone() if t["customer_id"] is not None else None
    return {
        "customer.name": name or "there",
        "customer.first_name": _first_name(name) or "there",
        "agent.name": str(agent_name),
        "agent.first_name": _first_name(str(agent_name)),
        "order.number": order["number"] if order else None,
        "thread.subject": t["subject"],
        "thread.id": str(t["id"]),
    }


def fill(text: str, values: dict[str, Any], macro_name: str = "") -> str:
    """Replace {variables}; an unknown or unavailable one raises a UserError naming it."""
    def sub(m: re.Match) -> str:
        if m.group(0) == "{{":
            return "{"
        if m.group(0) == "}}":
            return "}"
        var = m.group(1).strip()
        if var not in values:
            raise UserError(f"macro {macro_name!r}: unknown variable {{{var}}}",
                            fix="use one of: " + ", ".join("{" + v + "}" for v in VARIABLES))
        if values[var] is None:
            raise UserError(f"macro {macro_name!r} uses {{{var}}}, but this customer has no orders",
                            fix="pick another macro or write the reply by hand")
        return str(values[var])

    return _PLACEHOLDER.sub(sub, text)


def render(db: sqlite3.Connection, config: Any, thread_id: int, name: str, agent: Any) -> str:
    """The macro's text with its variables filled in for this conversation and agent."""
    macro = get(config, name)
    return fill(macro.text, _values(db, thread_id, agent), name)


def preview(db: sqlite3.Connection, config: Any, thread_id: int, name: str, agent: Any) -> Preview:
    """The rendered text and the effects of a macro on this conversation, changing nothing."""
    macro = get(config, name)
    return Preview(name, fill(macro.text, _values(db, thread_id, agent), name), tuple(macro.effects))


def pending_effects(db: sqlite3.Connection, thread_id: int) -> list[str]:
    """The effects waiting on this conversation's draft, in words ("tag refund", "close")."""
    row = db.execute("SELECT effects FROM drafts WHERE thread_id=?", (thread_id,)).fetchone()
    refund = db.execute("SELECT charge, amount FROM draft_refunds WHERE thread_id=?", (thread_id,)).fetchone()
    return ([step["say"] for step in json.loads(row[0])] if row else []) + (
        [f"refund {'all' if refund['amount'] is None else refund['amount']} on {refund['charge']}"] if refund else [])


def _apply_macro(ctx: Context, thread_id: int, name: str | None = None) -> Result:
    if not name:
        raise ValueError("which macro? give name=… (see the macro list with `m`)")
    if ctx.config is None:
        raise UserError("macros need the configuration", fix="run with a config.toml that defines [[macros]]")
    macro = get(ctx.config, name)
    text = fill(macro.text, _values(ctx.db, thread_id, ctx.agent), name)
    now = time.time()
    old = ctx.db.execute("SELECT text, effects FROM drafts WHERE thread_id=?", (thread_id,)).fetchone()
    draft = f"{old['text'].rstrip()}\n\n{text}" if old and old["text"].strip() else text
    steps = json.loads(old["effects"]) if old else []
    steps += [{"macro": name, "action": action, "args": args, "say": say} for action, args, say in macro.steps]
    ctx.db.execute(
        """INSERT INTO drafts(thread_id, kind, text, started_at, updated_at, effects) VALUES (?, 'reply', ?, ?, ?, ?)
           ON CONFLICT(thread_id) DO UPDATE SET text=excluded.text, updated_at=excluded.updated_at,
             effects=excluded.effects""",
        (thread_id, draft, now, now, json.dumps(steps)))
    effects = [step["say"] for step in steps]
    if macro.refund:
        from console.actions import refund

        try:
            effects.append(refund.offer(ctx, thread_id, macro.refund, f"macro {macro.name}").removeprefix("on send: "))
        except ValueError as exc:
            effects.append(str(exc))
    message = f"macro {name!r} is in the draft" + (f" · on send: {', '.join(effects)}" if effects else "")
    return Result(True, message, {"draft": draft, "effects": effects})


register(Action("apply_macro", "Put a macro into the draft; its effects run when the reply is sent", mutating=True,
                context="thread", needs_thread=True, handler=_apply_macro, show_in_palette=False))
