"""What a widget may ask of the program around it: the declared host interface.

Widgets and screens are given a :class:`Host` when they are made and ask the program
only through it: the cache, the config, the write gate, the clock, the keymap, moving
between screens and quitting. Textual's own machinery that every App has — dispatching
a binding (``run_action``), ``call_from_thread``, ``notify``, the terminal's size,
signals — is used on ``self.app`` as Textual documents it; nothing of the program is
reached that way, except by the App's own command-palette provider (widgets/commands.py),
which Textual builds and hands only the App. :class:`HostApp` is the one implementation:
the real App is a HostApp, and so is the test harness, so the two cannot drift.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from textual.app import App

from console.actions import REGISTRY, Context, Result
from console.actions import perform as gate_perform
from console.config import Config
from console.errors import UserError
from widgets.keys import Keymap, build_keymap
from widgets.undo import hint_timeout, undo_hint

# Actions whose success is not worth a notice (they happen as a side effect of something else).
QUIET_ACTIONS = {"save_draft", "mark_read"}


@runtime_checkable
class Host(Protocol):
    """The cache, the config and the write gate, plus the two moves a pane may ask for."""

    db: sqlite3.Connection
    db_path: Path | None
    config: Config
    read_only: bool
    keymap: Keymap

    def now(self) -> float: ...

    def perform(self, action_id: str, thread_id: int | None = None, **args: Any) -> Result: ...

    def allowed(self, action_id: str) -> bool: ...

    def key_label(self, action_id: str) -> str: ...

    def section(self, name: str) -> Any: ...

    def open_thread(self, thread_id: int, *, focus: bool = True) -> None: ...

    def show_threads(self, thread_ids: Iterable[int], title: str) -> None: ...

    def push_screen(self, screen: Any, callback: Callable[[Any], Any] | None = None) -> Any: ...

    def back(self) -> bool: ...

    async def leave(self) -> None: ...

    def changed(self, thread_ids: set[int] | None) -> None: ...

    def sync_status(self) -> tuple[list, str]: ...

    def announce(self, thread_id: int | None, replying: bool) -> None: ...


class HostApp(App):
    """An App that is a :class:`Host`: the gate with its notices, the keymap, the clock."""

    def __init__(self, *, db: sqlite3.Connection, config: Config, read_only: bool = False,
                 db_path: Path | None = None, clock: Callable[[], float] = time.time) -> None:
        super().__init__()
        self.db = db
        self.db_path = db_path
        self.config = config
        self.read_only = bool(read_only or config.read_only)
        self.ctx = Context(db=db, agent=config.agent_name, role=config.role, read_only=self.read_only,
                           config=config)
        self.keymap: Keymap = build_keymap(config.keymap)
        self.clock = clock
        self._said: set[str] = set()

    def now(self) -> float:
        return self.clock()

    def perform(self, action_id: str, thread_id: int | None = None, **args: Any) -> Result:
        """Run an action through the one write gate and tell the agent how it went."""
        result = gate_perform(self.ctx, action_id, thread_id, **args)
        if not result.ok and result.data.get("needs_confirmation"):
            self._ask_then(action_id, thread_id, args, result.message)  # e on a conversation with a draft
            return result
        if not result.ok:
            refused = result.message.startswith("read-only")  # it says so itself: no "Read-only" title on top
            self.notify(result.message, severity="warning" if refused else "error", timeout=6, markup=False)
            return result
        if result.message and action_id not in QUIET_ACTIONS:
            hint = undo_hint(action_id, result.message, self.key_label("undo"))
            self.notify(result.message + hint, timeout=hint_timeout(hint), markup=False)
        action = REGISTRY.get(action_id)
        if action is not None and action.mutating and action_id != "save_draft":
            self.changed({thread_id} if thread_id is not None else None)
        return result

    def _ask_then(self, action_id: str, thread_id: int | None, args: dict, question: str) -> None:
        """The gate asked first ("… has an unsent draft"): ask the agent, and on yes run it confirmed."""
        from rich.text import Text

        from widgets.screens.choosers import ConfirmScreen

        title = REGISTRY[action_id].title.capitalize() + "?" if action_id in REGISTRY else "Are you sure?"

        def answered(yes: bool | None) -> None:
            if yes:
                self.perform(action_id, thread_id, **{**args, "confirmed": True})

        self.push_screen(ConfirmScreen(title, [Text(question)], confirm=f"{REGISTRY[action_id].title} anyway"
                                       if action_id in REGISTRY else "go on"), answered)

    def allowed(self, action_id: str) -> bool:
        """False (refused by the gate, audited, with a notice) when a mutating action may not run here."""
        action = REGISTRY[action_id]
        if action.mutating and self.ctx.refuses_changes:
            self.perform(action_id)
            return False
        return True

    def key_label(self, action_id: str) -> str:
        return self.keymap.first_key(action_id) or action_id

    def section(self, name: str) -> Any:
        """A parsed config section (sla, triage, knowledge, macros); None, said once, if it is wrong."""
        try:
            return getattr(self.config, name)
        except UserError as exc:
            if name not in self._said:
                self._said.add(name)
                self.notify(str(exc), title="config.toml", severity="warning", timeout=12, markup=False)
            return None

    def back(self) -> bool:
        """Close the screen on top (help, dashboard, …); False when only the desk is left."""
        if len(self.screen_stack) > 1:
            self.pop_screen()
            return True
        return False

    async def leave(self) -> None:
        """Quit as the quit key does (asking first about unsent drafts)."""
        await self.run_action("quit")

    def open_thread(self, thread_id: int, *, focus: bool = True) -> None:
        raise NotImplementedError

    def show_threads(self, thread_ids: Iterable[int], title: str) -> None:
        raise NotImplementedError

    def changed(self, thread_ids: set[int] | None) -> None:
        """Something changed in the cache (None: anything); the screens re-read it."""

    def sync_status(self) -> tuple[list, str]:
        """(per-account sync states, a note about the engine) for the status bar."""
        return [], "sync off"

    def announce(self, thread_id: int | None, replying: bool) -> None:
        """The conversation on screen and whether the agent is replying, for team presence ([team])."""
