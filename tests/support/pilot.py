"""Pilot helpers shared by the UI tests: wait for a condition, never for a fixed time.

:func:`wait_until` pauses in small steps until a predicate holds and fails with what it
waited for; :func:`settle` waits until the app is quiet (the cursor has rested, no
re-read or worker is pending, every message handled). Timeouts are generous for a loaded
CI machine; both return as soon as the condition holds.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Callable

from textual.app import App
from textual.events import Key
from textual.keys import _character_to_key
from textual.worker import WorkerState

STEP = 0.02  # s between two looks at the condition
TIMEOUT = 10.0  # s: far above what a loaded 2-core machine needs
_BUSY = (WorkerState.PENDING, WorkerState.RUNNING)


async def wait_until(pilot, predicate: Callable[[], object], timeout: float = TIMEOUT, what: str = "") -> None:
    """Pause until ``predicate()`` is true; fail naming ``what`` when ``timeout`` passes first."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout:g} s waiting for {what or _name(predicate)}")
        await pilot.pause(STEP)


def _name(predicate) -> str:
    """The predicate's own source line (a lambda) or its name."""
    try:
        return " ".join(inspect.getsource(predicate).split())
    except (OSError, TypeError):
        return getattr(predicate, "__name__", "the condition")


def quiet(app: App) -> bool:
    """Nothing left to happen by itself: no cursor rest, screen re-read or worker pending."""
    main = getattr(app, "main", None)
    if main is not None and (main._rest_timer is not None or main._reread_timer is not None):
        return False
    return not any(w.state in _BUSY for w in app.workers if w.group != "engine")


async def settle(pilot, timeout: float = TIMEOUT) -> None:
    """Wait until every pending message is handled and then the app is :func:`quiet`."""
    deadline = time.monotonic() + timeout
    while True:
        await pilot.wait_for_scheduled_animations()  # what was posted is handled (it may start a timer)
        if quiet(pilot.app):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up after {timeout:g} s waiting for the app to settle "
                                 "(cursor at rest, no re-read or worker pending)")
        await pilot.pause(STEP)


async def type_text(pilot, text: str) -> None:
    """Type ``text`` into what has focus as one quick burst of real key events (a fast typist),
    then wait until they are handled. Keys that move focus or open screens go through ``press``."""
    app = pilot.app
    for ch in text:
        key = Key(ch if ch.isalnum() else _character_to_key(ch), ch)
        key.set_sender(app)
        app._driver.send_message(key)
    await pilot.pause()


class Typed(str):
    """Text among the keys given to :func:`press`: typed with :func:`type_text`."""


async def press(pilot, *keys: str) -> None:
    """Press ``keys`` in turn, each handled before the next; :class:`Typed` items are typed as text."""
    for key in keys:
        if isinstance(key, Typed):
            await type_text(pilot, key)
        else:
            await pilot.press(key)


def notices(app: App) -> list[str]:
    """The messages of the notifications (toasts) shown so far."""
    return [n.message for n in app._notifications]


def toasts(app: App) -> list[str]:
    """Title and message of every toast so far, one line each (what the agent reads)."""
    return [" ".join(filter(None, [n.title, n.message])) for n in app._notifications]


def painted(app: App) -> list[str]:
    """The lines on the terminal as the user sees them."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def screen_text(app: App) -> str:
    """Everything on screen as plain characters (what a person reads)."""
    return "\n".join(painted(app))
