"""Service-level targets: policies, business hours, due times, countdown states.

A policy gives the first-response and next-response targets for conversations on
some channels at some priorities. The first policy in ``[[sla.policies]]`` that
matches a conversation's channel and priority applies (put the specific ones
first); a triage rule may name a policy instead (``then.sla = "vip"``). Without an
``[sla]`` section the built-in defaults apply: email 24 h, chat 2 min, social 1 h,
helpdesk 24 h, around the clock.

A policy with ``business_hours = true`` only counts time inside the
``[business_hours]`` windows (days, start–end, holidays, in its time zone).

The clock starts at the customer's earliest message since our last reply (or at
the moment a snoozed conversation came back); when the last message is ours, or the
conversation is pending, snoozed or closed, nothing is due.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time as dtime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from console import sections
from console.errors import ConfigError
from providers.records import CONVERSATION_CHANNELS, PRIORITIES, PRIORITY_BY_NAME

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
FAR = 9e15  # sort_due when nothing is due

_DURATION = re.compile(r"^\s*(?:(\d+)\s*d)?\s*(?:(\d+)\s*h)?\s*(?:(\d+)\s*m(?:in)?)?\s*(?:(\d+)\s*s)?\s*$", re.I)


def parse_duration(value: Any) -> float:
    """'2m', '1h', '24h', '1h30m', '2d', '90s' or a number of seconds -> seconds (ValueError if not)."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration")
    if isinstance(value, (int, float)):
        if value <= 0:
            raise ValueError(f"{value!r} is not a positive duration")
        return float(value)
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m and any(m.groups()):
            d, h, mi, s = (int(g or 0) for g in m.groups())
            total = d * 86400 + h * 3600 + mi * 60 + s
            if total > 0:
                return float(total)
    raise ValueError(f"{value!r} is not a duration")


def human_duration(seconds: float) -> str:
    """3600 -> '1 hour', 120 -> '2 minutes', 5400 -> '1 hour 30 minutes'."""
    seconds = int(round(seconds))
    parts = []
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60), ("second", 1)):
        if unit == "day" and (seconds % 86400 or seconds < 2 * 86400):  # "24 hours", "36 hours", "2 days"
            continue
        n, seconds = divmod(seconds, size)
        if n:
            parts.append(f"{n} {unit}{'s' if n != 1 else ''}")
    return " ".join(parts) or "0 seconds"


def short_duration(seconds: float) -> str:
    """A compact countdown: '45s', '12m', '3h05m', '2d04h' (negative gets a leading '-')."""
    sign = "-" if seconds < 0 else ""
    s = int(abs(seconds))
    if s < 60:
        return f"{sign}{s}s"
    if s < 3600:
        return f"{sign}{s // 60}m"
    if s < 86400:
        return f"{sign}{s // 3600}h{(s % 3600) // 60:02d}m"
    return f"{sign}{s // 86400}d{(s % 86400) // 3600:02d}h"


# --------------------------------------------------------------------------- business hours


@dataclass(frozen=True)
class BusinessHours:
    tz: ZoneInfo
    days: frozenset[int]  # 0 = Monday
    start: dtime
    end: dtime
    holidays: frozenset[date] = frozenset()

    def open_on(self, day: date) -> bool:
        return day.weekday() in self.days and day not in self.holidays

    def _window(self, day: date) -> tuple[float, float]:
        return (datetime.combine(day, self.start, self.tz).timestamp(),
                datetime.combine(day, self.end, self.tz).timestamp())

    def add(self, start: float, seconds: float) -> float:
        """The moment ``seconds`` of business time after ``start``."""
        remaining = seconds
        day = datetime.fromtimestamp(start, self.tz).date()
        for _ in range(3700):
            if self.open_on(day):
                opens, closes = self._window(day)
                begin = max(opens, start)
                if begin < closes:
                    available = closes - begin
                    if remaining <= available:
                        return begin + remaining
                    remaining -= available
            day += timedelta(days=1)
        raise ValueError("business hours never open: check [business_hours]")

    def between(self, a: float, b: float) -> float:
        """Business seconds from ``a`` to ``b`` (negative when b < a)."""
        if b < a:
            return -self.between(b, a)
        total = 0.0
        day = datetime.fromtimestamp(a, self.tz).date()
        last = datetime.fromtimestamp(b, self.tz).date()
        while day <= last:
            if self.open_on(day):
                opens, closes = self._window(day)
                lo, hi = max(opens, a), min(closes, b)
                if hi > lo:
                    total += hi - lo
            day += timedelta(days=1)
        return total

    def describe(self) -> str:
        days = sorted(self.days)
        names = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
        if days == list(range(days[0], days[-1] + 1)) and len(days) > 2:
            span = f"{names[days[0]]} to {names[days[-1]]}"
        else:
            span = ", ".join(names[d] for d in days)
        return f"{span}, {self.start.strftime('%H:%M')}–{self.end.strftime('%H:%M')} ({self.tz.key})"


def parse_business_hours(raw: Any, where: str) -> BusinessHours | None:
    if raw is None:
        return None
    label = f"{where}: [business_hours]"
    if not isinstance(raw, dict):
        raise ConfigError(f"{label} must be a table", fix='write [business_hours] with timezone, days, start, end')
    unknown = set(raw) - {"timezone", "days", "start", "end", "holidays"}
    if unknown:
        raise ConfigError(f"{label}: unknown setting {sorted(unknown)[0]!r}",
                          fix="use timezone, days, start, end, holidays")
    tz_name = raw.get("timezone", "UTC")
    try:
        tz = ZoneInfo(str(tz_name))
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{label}: unknown time zone {tz_name!r}", fix='use an IANA name like "Europe/Berlin"') from None
    days_raw = raw.get("days", ["mon", "tue", "wed", "thu", "fri"])
    if not isinstance(days_raw, list) or not days_raw:
        raise ConfigError(f"{label}: days must be a list of day names", fix='e.g. days = ["mon", "tue", "wed", "thu", "fri"]')
    days = set()
    for d in days_raw:
        key = str(d).strip().lower()[:3]
        if key not in DAY_NAMES:
            raise ConfigError(f"{label}: unknown day {d!r}", fix="use mon, tue, wed, thu, fri, sat, sun")
        days.add(DAY_NAMES.index(key))
    start = _clock(raw.get("start", "09:00"), f"{label}: start")
    end = _clock(raw.get("end", "17:00"), f"{label}: end")
    if end <= start:
        raise ConfigError(f"{label}: end {end:%H:%M} is not after start {start:%H:%M}",
                          fix="windows within one day only, e.g. start = \"09:00\", end = \"17:00\"")
    holidays = set()
    if not isinstance(raw.get("holidays", []), list):
        raise ConfigError(f"{label}: holidays must be a list of dates", fix='e.g. holidays = ["2026-12-25"]')
    for h in raw.get("holidays", []):
        try:
            holidays.add(h if isinstance(h, date) else date.fromisoformat(str(h)))
        except ValueError:
            raise ConfigError(f"{label}: holiday {h!r} is not a date", fix='write it as "2026-12-25"') from None
    return BusinessHours(tz=tz, days=frozenset(days), start=start, end=end, holidays=frozenset(holidays))


def _clock(value: Any, label: str) -> dtime:
    if isinstance(value, dtime):
        return value
    try:
        return dtime.fromisoformat(str(value))
    except ValueError:
        raise ConfigError(f"{label} {value!r} is not a time of day", fix='write it as "09:00"') from None


# --------------------------------------------------------------------------- policies


@dataclass(frozen=True)
class Policy:
    name: str
    first_response: float
    next_response: float
    channels: tuple[str, ...] = ()  # empty: any
    priorities: tuple[int, ...] = ()  # empty: any
    business_hours: BusinessHours | None = None

    def matches(self, channel: str, priority: int) -> bool:
        return (not self.channels or channel in self.channels) and (not self.priorities or priority in self.priorities)

    def due(self, start: float, first: bool) -> float:
        target = self.first_response if first else self.next_response
        return self.business_hours.add(start, target) if self.business_hours else start + target


@dataclass
class Settings:
    policies: list[Policy] = field(default_factory=list)
    warning: float = 0.75  # share of the target used before the countdown turns to "warning"
    business_hours: BusinessHours | None = None
    promise: str = ""  # published promise text, if written by hand
    overrides: dict[int, str] = field(default_factory=dict)  # thread id -> policy name set by a triage rule

    def by_name(self, name: str) -> Policy | None:
        return next((p for p in self.policies if p.name == name), None)

    def policy_for(self, channel: str, priority: int, thread_id: int | None = None) -> Policy | None:
        if thread_id is not None and thread_id in self.overrides:
            named = self.by_name(self.overrides[thread_id])
            if named is not None:
                return named
        return next((p for p in self.policies if p.matches(channel, priority)), None)


DEFAULT_POLICIES = [
    Policy("email", 86400, 86400, ("email",)),
    Policy("chat", 120, 120, ("chat",)),
    Policy("social", 3600, 3600, ("social",)),
    Policy("helpdesk", 86400, 86400, ("helpdesk",)),
]


def parse(raw: dict, where: str = "config.toml") -> Settings:
    """The ``[sla]`` and ``[business_hours]`` sections of config.toml, checked."""
    bh = parse_business_hours(raw.get("business_hours"), where)
    section = sections.table(raw, "sla", where, ("enabled", "warning", "policies", "promise"),
                             write="write [sla] then [[sla.policies]]",
                             use="use enabled, warning, promise and [[sla.policies]]")
    if section is None:
        return Settings(policies=list(DEFAULT_POLICIES), business_hours=bh)
    warning = section.get("warning", 0.75)
    if isinstance(warning, bool) or not isinstance(warning, (int, float)) or not 0 < warning < 1:
        raise ConfigError(f"{where}: [sla] warning = {warning!r}", fix="use a share between 0 and 1, e.g. 0.75")
    promise = section.get("promise", "")
    if not isinstance(promise, str):
        raise ConfigError(f"{where}: [sla] promise must be a string", fix='write promise = "We answer …"')
    settings = Settings(warning=float(warning), business_hours=bh, promise=promise)
    if section.get("enabled", True) is False:
        return settings
    raw_policies = section.get("policies")
    if raw_policies is None:
        settings.policies = list(DEFAULT_POLICIES)
        return settings
    if not isinstance(raw_policies, list):
        raise ConfigError(f"{where}: sla.policies must be [[sla.policies]] tables", fix="write each as [[sla.policies]]")
    names: set[str] = set()
    for n, p in enumerate(raw_policies, 1):
        settings.policies.append(_policy(p, n, bh, where, names))
    return settings


def _policy(p: Any, n: int, bh: BusinessHours | None, where: str, names: set[str]) -> Policy:
    label = f"{where}: [[sla.policies]] #{n}"
    if not isinstance(p, dict):
        raise ConfigError(f"{label} is not a table", fix='write name = "email", channel = "email", first_response = "24h"')
    name = p.get("name", "")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{label} has no name", fix='add name = "email-normal"')
    label = f'{label} "{name}"'
    if name in names:
        raise ConfigError(f"{label}: the name is used twice", fix="give each policy its own name")
    names.add(name)
    unknown = set(p) - {"name", "channel", "priority", "first_response", "next_response", "business_hours"}
    if unknown:
        raise ConfigError(f"{label}: unknown setting {sorted(unknown)[0]!r}",
                          fix="use name, channel, priority, first_response, next_response, business_hours")
    channels = _strings(p.get("channel", []), f"{label}: channel")
    for c in channels:
        if c not in CONVERSATION_CHANNELS:
            raise ConfigError(f"{label}: unknown channel {c!r}", fix="use one of: " + ", ".join(CONVERSATION_CHANNELS))
    prios = []
    for x in _strings(p.get("priority", []), f"{label}: priority"):
        if x.lower() not in PRIORITY_BY_NAME:
            raise ConfigError(f"{label}: unknown priority {x!r}", fix="use low, normal, high or urgent")
        prios.append(PRIORITY_BY_NAME[x.lower()])
    if "first_response" not in p:
        raise ConfigError(f"{label} has no first_response", fix='add first_response = "24h"')
    try:
        first = parse_duration(p["first_response"])
        nxt = parse_duration(p.get("next_response", p["first_response"]))
    except ValueError as exc:
        raise ConfigError(f"{label}: {exc}", fix='write it like "2m", "1h", "24h" or "1h30m"') from None
    use_bh = p.get("business_hours", False)
    if not isinstance(use_bh, bool):
        raise ConfigError(f"{label}: business_hours must be true or false", fix="write business_hours = true")
    if use_bh and bh is None:
        raise ConfigError(f"{label} counts business hours but there is no [business_hours] section",
                          fix='add [business_hours] with timezone, days, start, end')
    return Policy(name=name, first_response=first, next_response=nxt, channels=tuple(channels),
                  priorities=tuple(prios), business_hours=bh if use_bh else None)


def _strings(value: Any, label: str) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ConfigError(f"{label} must be a string or a list of strings", fix='e.g. ["high", "urgent"]')


# --------------------------------------------------------------------------- state of a conversation

DEFAULT_SETTINGS = Settings(policies=list(DEFAULT_POLICIES))  # where config.toml sets none (or a broken one)


def _get(row: Any, key: str, default: Any = None) -> Any:
    try:
        return row[key]
    except (KeyError, IndexError, TypeError):
        return getattr(row, key, default)


def state(thread_row: Any, now: float, settings: Settings | None = None) -> tuple[str, float]:
    """("ok" | "warning" | "breached" | "none", seconds left) for a thread row (sqlite Row or InboxRow)."""
    due = _get(thread_row, "sla_due_at")
    if due is None or due >= FAR:
        return "none", 0.0
    left = due - now
    if left <= 0:
        return "breached", left
    s = settings or DEFAULT_SETTINGS
    policy = s.policy_for(_get(thread_row, "channel", ""), _get(thread_row, "priority", 1) or 0, _get(thread_row, "id"))
    if policy is None:
        return "ok", left
    target = policy.next_response if _get(thread_row, "first_response_at") is not None else policy.first_response
    work_left = policy.business_hours.between(now, due) if policy.business_hours else left
    if work_left <= (1.0 - s.warning) * target:
        return "warning", left
    return "ok", left


def promises_text(config: Any) -> str:
    """The published promise an agent can paste: per channel, the normal-priority first-response target."""
    settings = config.sla
    if settings.promise:
        return settings.promise.strip()
    labels = {"email": "email", "chat": "chat", "social": "social media messages", "helpdesk": "support tickets"}
    parts, hours = [], None
    for channel in CONVERSATION_CHANNELS:
        policy = settings.policy_for(channel, PRIORITY_BY_NAME["normal"])
        if policy is None:
            continue
        text = f"{labels[channel]} within {human_duration(policy.first_response)}"
        if policy.business_hours:
            human = human_duration(policy.first_response)
            amount, unit = human.split(" ", 1)
            text = (f"{labels[channel]} within {amount} business {unit}" if " " not in unit
                    else f"{labels[channel]} within {human} of business time")
            hours = policy.business_hours
        parts.append(text)
    if not parts:
        return "We answer every message as soon as we can."
    body = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    out = f"We answer {body}."
    if hours:
        out += f" Our business hours: {hours.describe()}."
    return out


def priority_name(value: int) -> str:
    return PRIORITIES.get(value, str(value))
