"""Triage rules, queues and agents from config.toml.

Rules (``[[triage.rules]]``) run on every new inbound message, in file order.
**All matching rules apply, in order; a later rule's effect overrides an earlier
one's (tags add up); a matching rule with ``stop = true`` ends the evaluation.**
A rule matches when every condition in its ``when`` table holds (a list inside a
condition means "any of these"). Its ``then`` table sets queue, priority, tags,
assignee and/or SLA policy. The conversation's ``rule`` column and ``triage_log``
record which rule set what, so the agent sees why a conversation moved.

Follower counts are never used unless a rule names ``followers_min`` /
``followers_max`` — and then the row shows that rule.
"""

from __future__ import annotations

import json
import re
import sqlite3
from dataclasses import dataclass, field
from typing import Any

from console.errors import ConfigError
from providers.records import CONVERSATION_CHANNELS, PRIORITY_BY_NAME

CONDITIONS = (
    "channel", "account", "network", "words", "regex", "search_in", "customer_tags", "orders_total_min",
    "orders_total_max", "latest_order_min", "latest_order_max", "tone", "kind", "language", "followers_min",
    "followers_max",
)
EFFECTS = ("queue", "priority", "tags", "assignee", "sla")
RULE_KEYS = ("name", "when", "then", "stop")
TONES = ("angry", "negative", "neutral", "positive")
KINDS = ("question", "complaint", "praise", "refund", "cancel", "other", "auto_reply", "bounce")


@dataclass
class Facts:
    """What a rule can look at for one inbound message."""

    channel: str = ""
    account: str = ""
    network: str = ""  # "WhatsApp", "mastodon.social", … (thread channel_detail or identity network)
    subject: str = ""
    body: str = ""
    customer_tags: tuple[str, ...] = ()
    orders_total: float = 0.0
    latest_order: float | None = None
    tone: str = ""
    kind: str = ""
    language: str = ""
    followers: int | None = None


@dataclass
class Rule:
    name: str
    position: int
    when: dict[str, Any]
    then: dict[str, Any]
    stop: bool = False
    words: list[re.Pattern] = field(default_factory=list)
    regexes: list[re.Pattern] = field(default_factory=list)

    def matches(self, f: Facts) -> bool:
        w = self.when
        if "channel" in w and f.channel not in w["channel"]:
            return False
        if "account" in w and f.account not in w["account"]:
            return False
        if "network" in w and not any(n.lower() in f.network.lower() for n in w["network"] if f.network):
            return False
        if self.words or self.regexes:
            where = w.get("search_in", "any")
            text = f.subject if where == "subject" else f.body if where == "body" else f"{f.subject}\n{f.body}"
            if self.words and not any(p.search(text) for p in self.words):
                return False
            if self.regexes and not any(p.search(text) for p in self.regexes):
                return False
        if "customer_tags" in w and not set(w["customer_tags"]) & {t.lower() for t in f.customer_tags}:
            return False
        if "orders_total_min" in w and f.orders_total < w["orders_total_min"]:
            return False
        if "orders_total_max" in w and f.orders_total > w["orders_total_max"]:
            return False
        if "latest_order_min" in w and (f.latest_order is None or f.latest_order < w["latest_order_min"]):
            return False
        if "latest_order_max" in w and (f.latest_order is None or f.latest_order > w["latest_order_max"]):
            return False
        for key in ("tone", "kind", "language"):
            if key in w and getattr(f, key) not in w[key]:
                return False
        if "followers_min" in w and (f.followers is None or f.followers < w["followers_min"]):
            return False
        if "followers_max" in w and (f.followers is not None and f.followers > w["followers_max"]):
            return False
        return True


@dataclass
class Outcome:
    """The combined effects of the rules that matched one message."""

    rules: list[str] = field(default_factory=list)
    effects: dict[str, Any] = field(default_factory=dict)  # final values (tags: all added tags)
    log: list[tuple[str, dict]] = field(default_factory=list)  # (rule name, what it set), in order


def evaluate(rules: list[Rule], facts: Facts) -> Outcome:
    out = Outcome()
    for rule in rules:
        if not rule.matches(facts):
            continue
        out.rules.append(rule.name)
        out.log.append((rule.name, dict(rule.then)))
        for key, value in rule.then.items():
            if key == "tags":
                out.effects["tags"] = sorted(set(out.effects.get("tags", [])) | set(value))
            else:
                out.effects[key] = value
        if rule.stop:
            break
    return out


# --------------------------------------------------------------------------- config


@dataclass(frozen=True)
class Agent:
    name: str
    email: str = ""
    capacity: int = 0  # most open conversations at once; 0 = no limit

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name.split() else self.name


@dataclass(frozen=True)
class Queue:
    name: str
    auto_assign: bool = False  # round-robin new conversations to its agents
    agents: tuple[str, ...] = ()  # empty: every agent


@dataclass
class Settings:
    rules: list[Rule] = field(default_factory=list)
    queues: list[Queue] = field(default_factory=list)
    default_queue: str = ""
    agents: list[Agent] = field(default_factory=list)

    def needs(self, *conditions: str) -> bool:
        """Whether any rule looks at one of these conditions."""
        return any(c in r.when for r in self.rules for c in conditions)

    def queue(self, name: str) -> Queue | None:
        return next((q for q in self.queues if q.name == name), None)

    def agent(self, name: str) -> Agent | None:
        return next((a for a in self.agents if a.name == name), None)


def parse(raw: dict, where: str = "config.toml", sla_policies: tuple[str, ...] | None = None) -> Settings:
    """``[triage]``, ``[[triage.rules]]``, ``[[triage.queues]]`` and ``[[agents]]``, checked."""
    settings = Settings(agents=parse_agents(raw.get("agents", []), where))
    section = raw.get("triage", {})
    if not isinstance(section, dict):
        raise ConfigError(f"{where}: [triage] must be a table", fix="write [[triage.rules]] and [[triage.queues]]")
    unknown = set(section) - {"rules", "queues", "default_queue"}
    if unknown:
        raise ConfigError(f"{where}: [triage]: unknown setting {sorted(unknown)[0]!r}",
                          fix="use default_queue, [[triage.rules]], [[triage.queues]]")
    dq = section.get("default_queue", "")
    if not isinstance(dq, str):
        raise ConfigError(f"{where}: triage.default_queue must be a string", fix='e.g. default_queue = "general"')
    settings.default_queue = dq
    agent_names = {a.name for a in settings.agents}
    queues = section.get("queues", [])
    if not isinstance(queues, list):
        raise ConfigError(f"{where}: triage.queues must be [[triage.queues]] tables", fix="write each as [[triage.queues]]")
    for n, q in enumerate(queues, 1):
        settings.queues.append(_queue(q, n, where, agent_names))
    rules = section.get("rules", [])
    if not isinstance(rules, list):
        raise ConfigError(f"{where}: triage.rules must be [[triage.rules]] tables", fix="write each as [[triage.rules]]")
    names: set[str] = set()
    for n, r in enumerate(rules, 1):
        rule = _rule(r, n, where, sla_policies)
        if rule.name in names:
            raise ConfigError(f'{where}: [[triage.rules]] #{n} "{rule.name}": the name is used twice',
                              fix="give each rule its own name (it is shown on the conversation)")
        names.add(rule.name)
        who = rule.then.get("assignee")
        if who and agent_names and who not in agent_names:
            raise ConfigError(f'{where}: [[triage.rules]] #{n} "{rule.name}": assignee {who!r} is not in [[agents]]',
                              fix="use one of: " + ", ".join(sorted(agent_names)))
        settings.rules.append(rule)
    return settings


def parse_agents(value: Any, where: str) -> list[Agent]:
    if not isinstance(value, list):
        raise ConfigError(f"{where}: agents must be [[agents]] tables", fix='write each as [[agents]] with name = "…"')
    out: list[Agent] = []
    for n, a in enumerate(value, 1):
        label = f"{where}: [[agents]] #{n}"
        if not isinstance(a, dict) or not isinstance(a.get("name"), str) or not a["name"].strip():
            raise ConfigError(f"{label} needs a name", fix='add name = "Sam Rivera"')
        label += f' "{a["name"]}"'
        unknown = set(a) - {"name", "email", "capacity"}
        if unknown:
            raise ConfigError(f"{label}: unknown setting {sorted(unknown)[0]!r}", fix="use name, email, capacity")
        cap = a.get("capacity", 0)
        if isinstance(cap, bool) or not isinstance(cap, int) or cap < 0:
            raise ConfigError(f"{label}: capacity = {cap!r}", fix="use a whole number of conversations (0 = no limit)")
        email = a.get("email", "")
        if not isinstance(email, str):
            raise ConfigError(f"{label}: email must be a string", fix='write email = "sam@example.com"')
        if any(x.name == a["name"] for x in out):
            raise ConfigError(f"{label}: the name is used twice", fix="give each agent their own name")
        out.append(Agent(name=a["name"].strip(), email=email, capacity=cap))
    return out


def _queue(q: Any, n: int, where: str, agent_names: set[str]) -> Queue:
    label = f"{where}: [[triage.queues]] #{n}"
    if not isinstance(q, dict) or not isinstance(q.get("name"), str) or not q["name"]:
        raise ConfigError(f"{label} needs a name", fix='add name = "billing"')
    label += f' "{q["name"]}"'
    unknown = set(q) - {"name", "auto_assign", "agents"}
    if unknown:
        raise ConfigError(f"{label}: unknown setting {sorted(unknown)[0]!r}", fix="use name, auto_assign, agents")
    auto = q.get("auto_assign", False)
    if not isinstance(auto, bool):
        raise ConfigError(f"{label}: auto_assign must be true or false", fix="write auto_assign = true")
    agents = q.get("agents", [])
    if not isinstance(agents, list) or not all(isinstance(a, str) for a in agents):
        raise ConfigError(f"{label}: agents must be a list of agent names", fix='e.g. agents = ["Sam Rivera"]')
    for a in agents:
        if a not in agent_names:
            raise ConfigError(f"{label}: {a!r} is not in [[agents]]",
                              fix="add them as [[agents]] or use one of: " + (", ".join(sorted(agent_names)) or "(none)"))
    if auto and not agent_names:
        raise ConfigError(f"{label}: auto_assign needs agents", fix="add [[agents]] with name and capacity")
    return Queue(name=q["name"], auto_assign=auto, agents=tuple(agents))


def _rule(r: Any, n: int, where: str, sla_policies: tuple[str, ...] | None) -> Rule:
    label = f"{where}: [[triage.rules]] #{n}"
    if not isinstance(r, dict):
        raise ConfigError(f"{label} is not a table", fix='write name = "…", when = {…}, then = {…}')
    name = r.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{label} has no name", fix='add name = "refunds" (it is shown on the conversation)')
    label += f' "{name}"'
    for key in r:
        if key not in RULE_KEYS:
            hint = "conditions go in when = {…}, effects in then = {…}" if key in CONDITIONS + EFFECTS else \
                "use name, when, then, stop"
            raise ConfigError(f"{label}: unknown key {key!r}", fix=hint)
    when, then = r.get("when", {}), r.get("then")
    if not isinstance(when, dict):
        raise ConfigError(f"{label}: when must be a table", fix='e.g. when = { words = ["refund"] }')
    if not isinstance(then, dict) or not then:
        raise ConfigError(f"{label} has no effects", fix='add then = { queue = "billing" } (queue, priority, tags, assignee, sla)')
    stop = r.get("stop", False)
    if not isinstance(stop, bool):
        raise ConfigError(f"{label}: stop must be true or false", fix="write stop = true")
    rule = Rule(name=name.strip(), position=n, when={}, then={}, stop=stop)
    for key, value in when.items():
        if key not in CONDITIONS:
            raise ConfigError(f"{label}: unknown condition {key!r}", fix="use one of: " + ", ".join(CONDITIONS))
        rule.when[key] = _condition(key, value, label)
    if rule.when.get("words"):  # one pattern for all of a rule's words: whole words, any spacing
        alternatives = "|".join(r"\s+".join(map(re.escape, w.split())) for w in rule.when["words"])
        rule.words.append(re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.I))
    for pattern in rule.when.get("regex", []):
        try:
            rule.regexes.append(re.compile(pattern, re.I))
        except re.error as exc:
            raise ConfigError(f"{label}: regex {pattern!r} does not compile ({exc})",
                              fix="fix the pattern (TOML literal strings '…' keep backslashes)") from None
    for key, value in then.items():
        if key not in EFFECTS:
            raise ConfigError(f"{label}: unknown effect {key!r}", fix="use one of: " + ", ".join(EFFECTS))
        rule.then[key] = _effect(key, value, label, sla_policies)
    return rule


def _strs(value: Any, label: str, key: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not value or not all(isinstance(v, str) and v.strip() for v in value):
        raise ConfigError(f"{label}: {key} must be a string or a list of strings", fix=f'e.g. {key} = ["…"]')
    return [v.strip() for v in value]


def _condition(key: str, value: Any, label: str) -> Any:
    if key.endswith(("_min", "_max")):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{label}: {key} must be a number", fix=f"e.g. {key} = 10000")
        return value
    if key == "search_in":
        if value not in ("any", "subject", "body"):
            raise ConfigError(f"{label}: search_in = {value!r}", fix='use "any", "subject" or "body"')
        return value
    values = _strs(value, label, key)
    choices = {"tone": TONES, "kind": KINDS, "channel": CONVERSATION_CHANNELS}.get(key)
    if choices:
        for v in values:
            if v not in choices:
                raise ConfigError(f"{label}: {key} {v!r} is unknown", fix="use one of: " + ", ".join(choices))
    if key in ("customer_tags", "language"):
        values = [v.lower() for v in values]
    return values


def _effect(key: str, value: Any, label: str, sla_policies: tuple[str, ...] | None) -> Any:
    if key == "priority":
        if isinstance(value, str) and value.lower() in PRIORITY_BY_NAME:
            return PRIORITY_BY_NAME[value.lower()]
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 3:
            return value
        raise ConfigError(f"{label}: priority = {value!r}", fix="use low, normal, high or urgent")
    if key == "tags":
        return sorted({t.lower() for t in _strs(value, label, key)})
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{label}: {key} must be a non-empty string", fix=f'e.g. {key} = "…"')
    if key == "sla" and sla_policies is not None and value not in sla_policies:
        raise ConfigError(f"{label}: sla policy {value!r} is not in [[sla.policies]]",
                          fix="use one of: " + (", ".join(sla_policies) or "(none defined)"))
    return value.strip()


# --------------------------------------------------------------------------- facts from the cache


def facts_for(db: sqlite3.Connection, message_id: int, *, with_language: bool = True,
              with_orders: bool = True) -> tuple[int, Facts] | None:
    """(thread id, Facts) for one stored message; language and orders only when some rule needs them."""
    row = db.execute(
        """SELECT m.thread_id, m.text, m.tone, m.kind, t.channel, t.channel_detail, t.subject, t.customer_id,
                  a.name AS account, i.followers, i.network, c.tags AS customer_tags
           FROM messages m JOIN threads t ON t.id = m.thread_id JOIN accounts a ON a.id = t.account_id
           LEFT JOIN identities i ON i.id = COALESCE(m.author_identity_id, t.identity_id)
           LEFT JOIN customers c ON c.id = t.customer_id
           WHERE m.id = ?""", (message_id,)).fetchone()
    if row is None:
        return None
    from console.tone import language

    total, latest = 0.0, None
    if with_orders and row["customer_id"] is not None:
        agg = db.execute("SELECT COALESCE(SUM(total), 0) FROM orders WHERE customer_id=?", (row["customer_id"],)).fetchone()
        total = float(agg[0])
        last = db.execute("SELECT total FROM orders WHERE customer_id=? ORDER BY placed_at DESC, id DESC LIMIT 1",
                          (row["customer_id"],)).fetchone()
        latest = float(last[0]) if last else None
    network = " ".join(x for x in (row["channel_detail"], row["network"]) if x)
    return row["thread_id"], Facts(
        channel=row["channel"], account=row["account"], network=network, subject=row["subject"], body=row["text"],
        customer_tags=tuple(json.loads(row["customer_tags"] or "[]")), orders_total=total, latest_order=latest,
        tone=row["tone"], kind=row["kind"],
        language=language(f"{row['subject']}\n{row['text']}") if with_language else "",
        followers=row["followers"],
    )
