"""The rest of the support team, simulated, so the demo's service levels look like a real team's.

Two parts. ``waiting_age`` places the world's still-waiting conversations at build time:
most within target, some at risk (75–97% of it), about a tenth breached, on every channel,
measured the way the console measures (office hours where the demo's policy uses them).
``answer_at`` is when a teammate answers a conversation that waits (drawn from its id and
the moment it started waiting, on its own random stream): most within their target
(15–95% of it), a few late (110–250%), so the live stream keeps that mix while it runs.
The team keeps the policies' clocks: office hours for email and social, around the clock for
chat and VIP customers.

The targets mirror console/demo_config.toml (kept in step by hand: a provider does not
read the console's config): chat 5 minutes, 2 on WhatsApp (the demo's rules make those
high priority), social 1 office hour, email 24 office hours, VIP customers 30 minutes;
office hours Monday to Friday 09:00–17:00 in Berlin, with the demo's holidays.
"""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from providers.records import Channel

LATE_SHARE = 0.08
ON_TIME = (0.15, 0.95)  # share of the target after which an on-time answer comes
LATE = (1.1, 2.5)
# State of the world's waiting conversations when it is built: (share, range of the target waited).
MIX = ((0.10, (1.1, 3.0)), (0.12, (0.77, 0.97)), (0.78, (0.02, 0.7)))
TARGET = {Channel.CHAT: (300.0, False), Channel.SOCIAL: (3600.0, True), Channel.EMAIL: (86400.0, True)}
FAST_CHAT = 120.0
VIP_TARGET = 1800.0
OFFICE = ZoneInfo("Europe/Berlin")
OPENS, CLOSES = 9, 17
HOLIDAYS = frozenset({date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 26), date(2027, 1, 1)})

REPLIES = {
    Channel.EMAIL: "Hi {first},\n\nthanks for your message — I'm looking into this now and will get back to you "
                   "with an answer shortly.\n\n{agent}",
    Channel.CHAT: "Thanks for waiting! I'm on it — one moment while I check.",
    Channel.SOCIAL: "Thanks for reaching out! We're looking into it and will reply by direct message.",
}


def business_add(start: datetime, seconds: float) -> datetime:
    """``start`` plus ``seconds`` of office time (Monday–Friday, 09:00–17:00 Berlin, not on holidays)."""
    at = start.astimezone(OFFICE)
    left = seconds
    for _ in range(4000):  # at most a year of office days
        opens = at.replace(hour=OPENS, minute=0, second=0, microsecond=0)
        closes = at.replace(hour=CLOSES, minute=0, second=0, microsecond=0)
        if at.weekday() < 5 and at.date() not in HOLIDAYS and at < closes:
            at = max(at, opens)
            room = (closes - at).total_seconds()
            if left <= room:
                return (at + timedelta(seconds=left)).astimezone(timezone.utc)
            left -= room
        at = (at + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    return (at + timedelta(seconds=left)).astimezone(timezone.utc)


def business_back(end: datetime, seconds: float) -> datetime:
    """The moment from which ``seconds`` of office time lead up to ``end``."""
    at = end.astimezone(OFFICE)
    left = seconds
    for _ in range(4000):
        opens = at.replace(hour=OPENS, minute=0, second=0, microsecond=0)
        closes = at.replace(hour=CLOSES, minute=0, second=0, microsecond=0)
        if at.weekday() < 5 and at.date() not in HOLIDAYS and at > opens:
            at = min(at, closes)
            room = (at - opens).total_seconds()
            if left <= room:
                return (at - timedelta(seconds=left)).astimezone(timezone.utc)
            left -= room
        at = (at - timedelta(days=1)).replace(hour=23, minute=59, second=59, microsecond=0)
    return (at - timedelta(seconds=left)).astimezone(timezone.utc)


def target(channel: Channel, network: str, vip: bool) -> tuple[float, bool]:
    """(seconds, counted in office hours) the demo's policies give this conversation."""
    if vip:
        return VIP_TARGET, False
    if channel == Channel.CHAT and network == "WhatsApp":
        return FAST_CHAT, False
    return TARGET.get(channel, TARGET[Channel.EMAIL])


def waiting_age(rng: random.Random, now: datetime, channel: Channel, network: str, vip: bool) -> datetime:
    """When a conversation still waiting at ``now`` started waiting, drawn from ``MIX``."""
    seconds, business = target(channel, network, vip)
    roll = rng.random()
    for share, span in MIX:
        if roll < share:
            break
        roll -= share
    waited = rng.uniform(*span) * seconds
    return business_back(now, waited) if business else now - timedelta(seconds=waited)


def answer_at(seed: int, thread: str, waiting_since: datetime, channel: Channel, network: str, vip: bool,
              not_before: datetime | None = None) -> datetime:
    """When a teammate answers this conversation, waiting since ``waiting_since`` (at ``not_before`` at the
    earliest: the world's still-waiting conversations are answered after the moment it was built)."""
    rng = random.Random(f"{seed}/team/{thread}/{waiting_since.timestamp():.0f}")
    share = rng.uniform(*(LATE if rng.random() < LATE_SHARE else ON_TIME))
    seconds, business = target(channel, network, vip)
    if not_before is not None and _later(waiting_since, share * seconds, business) <= not_before:
        waiting_since, share = not_before, rng.uniform(*ON_TIME)
    return _later(waiting_since, share * seconds, business)


def _later(start: datetime, seconds: float, business: bool) -> datetime:
    return business_add(start, seconds) if business else start + timedelta(seconds=seconds)


def reply_text(channel: Channel, first: str, agent: str) -> str:
    return REPLIES.get(channel, REPLIES[Channel.EMAIL]).format(first=first or "there", agent=agent)
