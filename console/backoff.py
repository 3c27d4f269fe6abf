"""Exponential backoff with jitter, shared by the sync engine and the outbox."""

from __future__ import annotations

import random
from collections.abc import Callable

BACKOFF_BASE = 2.0  # seconds
BACKOFF_CAP = 300.0


def backoff_delay(attempt: int, *, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP,
                  rand: Callable[[], float] = random.random) -> float:
    """Between half and all of min(cap, base·2^attempt) ("equal jitter"), so many
    clients failing together do not retry together, yet the wait never collapses to 0."""
    ceiling = min(cap, base * (2 ** max(0, min(attempt, 30))))
    return ceiling / 2 + rand() * ceiling / 2
