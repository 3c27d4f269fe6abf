"""Times as people type them, for snoozing (ahead) and for `--since` (back).

One parser for both directions: ``parse_when("3d")`` is three days from now,
``parse_when("3d", past=True)`` (or ``"3d ago"``) three days back. Day words land
on a working hour ahead (09:00) and on midnight back, so ``--since yesterday``
keeps all of yesterday.
"""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone

UNITS = {"m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}
DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WORK_HOUR = 9
HINT = "use 2h, 3d, 3d ago, today, yesterday, tomorrow, friday, tomorrow 9:00, 17:30 or 2026-12-01T09:00"
_CLOCK = re.compile(r"(.*?)\s*(?:at\s+)?(\d{1,2})(?::(\d{2}))?\s*(am|pm)?")


def parse_when(value: str | float | int, now: float | None = None, *, past: bool = False) -> float:
    """Epoch seconds for '2h', '30m', '3d', '1w' (with optional 'ago'), 'now', 'today',
    'yesterday', 'tomorrow', a weekday, an ISO date or date-time, or epoch seconds.
    Raises ValueError with the accepted forms on anything else."""
    now = time.time() if now is None else now
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    text = " ".join(str(value).strip().lower().split())
    clock = _clock(text)
    if clock is not None and not past:  # 'tomorrow 9:00', 'friday 14:30', '17:00' (the next one)
        day, hour, minute = clock
        local = datetime.fromtimestamp(now).astimezone()
        if day:
            start = datetime.fromtimestamp(parse_when(day, now)).astimezone()
        else:
            start = local
        when = start.replace(hour=hour, minute=minute, second=0, microsecond=0)
        if not day and when.timestamp() <= now:
            when += timedelta(days=1)
        return when.timestamp()
    text = _DAY_ABBREVIATIONS.get(text, text)
    m = re.fullmatch(r"(\d{1,6})\s*(m|min|h|d|w)( ago)?", text)
    if m:
        step = int(m.group(1)) * UNITS[m.group(2)]
        return now - step if (past or m.group(3)) else now + step
    local = datetime.fromtimestamp(now).astimezone()
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if text == "now":
        return now
    if text == "today":
        return midnight.timestamp()
    if text == "yesterday":
        return (midnight - timedelta(days=1)).timestamp()
    if text == "tomorrow":
        return (midnight + timedelta(days=1)).replace(hour=WORK_HOUR).timestamp()
    if text in DAYS:
        if past:
            back = (local.weekday() - DAYS.index(text)) % 7 or 7
            return (midnight - timedelta(days=back)).timestamp()
        ahead = (DAYS.index(text) - local.weekday()) % 7 or 7
        return (midnight + timedelta(days=ahead)).replace(hour=WORK_HOUR).timestamp()
    try:
        dt = datetime.fromisoformat(str(value).strip())
    except ValueError:
        raise ValueError(f"cannot read the time {str(value)[:60]!r} — {HINT}") from None
    if dt.tzinfo is None:
        dt = dt.astimezone()
    return dt.astimezone(timezone.utc).timestamp()


_DAY_ABBREVIATIONS = {d[:3]: d for d in DAYS} | {"tue": "tuesday", "tues": "tuesday", "thu": "thursday",
                                                 "thur": "thursday", "thurs": "thursday", "wed": "wednesday"}


def _clock(text: str) -> tuple[str, int, int] | None:
    """('tomorrow', 9, 0) for 'tomorrow 9:00' or 'tomorrow at 9am'; ('', 17, 30) for '17:30'; None otherwise."""
    m = _CLOCK.fullmatch(text)
    if m is None or (m.group(3) is None and m.group(4) is None):
        return None  # a bare number is no time of day ('3' is not 03:00)
    day, hour, minute, half = m.group(1).strip(), int(m.group(2)), int(m.group(3) or 0), m.group(4)
    day = _DAY_ABBREVIATIONS.get(day, day)
    if day not in ("", "today", "tomorrow", *DAYS):
        return None
    if half:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if half == "pm" else 0)
    if hour > 23 or minute > 59:
        return None
    return day, hour, minute
