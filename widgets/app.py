"""The Switchboard App: engine lifecycle, quitting, the keymap and the global screens.

Everything on screen is read from the SQLite cache; every change goes through the
write gate (:meth:`HostApp.perform`). Nothing here awaits the network: the sync
engine starts after the first frame and tells the main screen what changed.
The desk itself — layout, views, search, the selection — is :class:`MainScreen`.

Start-up is kept light on purpose (first paint is a benchmark target): only
Textual, the cache queries and the inbox are imported before the first frame;
the engine, providers, panes, choosers, help and dashboard load when first needed.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from textual.screen import ModalScreen

from console.actions import REGISTRY, Result
from console.cache import connect, queries
from widgets.commands import SwitchboardCommands
from widgets.host import HostApp
from widgets.keys import RegistryBindings, textual_keymap
from widgets.screens.main import MainScreen

CSS_FILE = Path(__file__).resolve().parent / "app.tcss"


class SwitchboardApp(RegistryBindings, HostApp):
    """The App keeps what outlives a screen; :class:`MainScreen` is the desk."""

    CSS_PATH = str(CSS_FILE)
    TITLE = "Switchboard"
    COMMANDS = {SwitchboardCommands}
    COMMAND_PALETTE_DISPLAY = ":"
    ENABLE_COMMAND_PALETTE = False  # no default ctrl+p binding: the registry's `palette` action owns its keys

    def __init__(self, *, db_path: Path | str, config, read_only: bool = False, demo: bool = False,
                 start_engine: bool = True, data_dir: Path | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        super().__init__(db=connect(Path(db_path)), config=config, read_only=read_only, db_path=Path(db_path),
                         clock=clock)
        self.use_command_palette = True
        self.demo = demo
        self.data_dir = data_dir
        self.start_engine = start_engine
        self.engine = None
        self._announced: tuple[int | None, bool] | None = None  # what the team was last told
        self.engine_note = "sync starting…" if start_engine else "sync off"
        self.main = MainScreen(self)
        # Keys: the registry plus [keymap]; problems are reported once at start-up.
        self.startup_problems: list[str] = list(self.keymap.problems) + self.main.problems
        self.set_keymap(textual_keymap(self.keymap))

    def get_default_screen(self) -> MainScreen:
        return self.main

    def get_theme(self, theme_name: str):
        """Textual looks the current theme up for every line it renders, copying its table of
        themes each time (~10 ms of the first frame, ~1 ms of a half page): read it in place."""
        themes = getattr(self, "_registered_themes", None)
        if themes is None:
            return super().get_theme(theme_name)
        for name in theme_name.split(","):
            theme = themes.get(name.strip())
            if theme is not None:
                return theme
        return None

    def on_mount(self) -> None:
        if self.read_only:
            self.sub_title = "READ-ONLY"
        for line in self.startup_problems:
            self.notify(line, title="config.toml", severity="warning", timeout=12, markup=False)
        if self.start_engine:
            self.call_after_refresh(self._boot_engine)
        if self.read_only:
            self.call_after_refresh(self.action_dashboard)

    # ------------------------------------------------------------------ the host interface

    def open_thread(self, thread_id: int, *, focus: bool = True) -> None:
        self.main.open_thread(thread_id, focus=focus)

    def show_threads(self, thread_ids: Iterable[int], title: str) -> None:
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.main.show_threads(thread_ids, title)

    def changed(self, thread_ids: set[int] | None) -> None:
        if self.main.is_attached:
            self.main.changed(thread_ids)

    def sync_status(self) -> tuple[list, str]:
        return (list(self.engine.states.values()) if self.engine is not None else []), self.engine_note

    def announce(self, thread_id: int | None, replying: bool) -> None:
        if self.engine is not None and self._announced != (thread_id, replying):
            self._announced = (thread_id, replying)
            self.engine.announce(thread_id, replying)  # the sync process's presence client rate-limits

    def perform(self, action_id: str, thread_id: int | None = None, **args: Any) -> Result:
        place = self.main.before_action(action_id, thread_id) if self.main.is_attached else None  # send and next
        result = super().perform(action_id, thread_id, **args)
        if result.ok and self.engine is not None and action_id != "save_draft":
            self.engine.wake_outbox()
        if place is not None:
            self.main.after_action(place, result)
        return result

    # ------------------------------------------------------------------ the engine (after the first frame)

    def _boot_engine(self) -> None:
        self.run_worker(self._start_engine(), name="engine", group="engine", exit_on_error=False)

    async def _start_engine(self) -> None:
        """The engine runs in a process of its own (console.sync_process): no sync work shares
        this loop or its interpreter, so the screen stays responsive however big the sync."""
        from console.sync_process import SyncProcess

        engine = SyncProcess(self.db_path, self.config, read_only=self.read_only, data_dir=self.data_dir,
                             on_change=self._synced, on_notice=self._engine_notice, on_exit=self._engine_exited)
        try:
            await engine.start()
        except OSError as exc:
            self.engine_note = f"sync could not start: {exc.strerror or exc}"
            return
        self.engine = engine
        self.engine_note = ""

    def _synced(self, thread_ids: set[int] | None) -> None:
        """A batch the sync process stored: the screen gathers these and re-reads once per burst."""
        if self.main.is_attached:
            self.main.changed(thread_ids, synced=True)

    def _engine_notice(self, line: str) -> None:
        self.notify(line, title="config.toml", severity="warning", timeout=12, markup=False)

    def _engine_exited(self, line: str) -> None:
        self.engine, self.engine_note = None, line
        self.changed(set())

    async def on_unmount(self) -> None:
        await self._stop_engine()

    async def _stop_engine(self) -> None:
        engine, self.engine = self.engine, None
        if engine is not None:
            try:
                await engine.stop()
            except Exception:  # noqa: BLE001  (quitting must not fail)
                pass

    # ------------------------------------------------------------------ global actions and screens

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        # A chooser, help, the palette or the quit question has the keys.
        return not (action in REGISTRY and isinstance(self.screen, ModalScreen))

    def action_help(self) -> None:
        from widgets.screens.help import HelpScreen

        letters = [(k, v.name) for k, v in self.main.view_letters().items()]
        self.push_screen(HelpScreen(self.keymap, letters, self.read_only))

    def action_palette(self) -> None:
        self.action_command_palette()

    def action_dashboard(self) -> None:
        from widgets.screens.dashboard import DashboardScreen

        if isinstance(self.screen, DashboardScreen):
            self.pop_screen()  # D again: back to the inbox
        else:
            self.push_screen(DashboardScreen(self))

    async def action_quit(self) -> None:
        from widgets.screens.quit import QuitScreen

        drafts = queries.conversations_with_drafts(self.db)  # the question names them
        if not drafts:
            await self._leave()
            return

        async def answered(leave: bool | None) -> None:
            if leave:
                await self._leave()

        self.push_screen(QuitScreen(drafts), answered)

    async def _leave(self) -> None:
        await self._stop_engine()
        self.exit(0)

    async def run_registry_action(self, action_id: str) -> None:
        """Run an action by its registry id on whoever owns it (the palette's way in)."""
        if callable(getattr(self, f"action_{action_id}", None)):
            await self.run_action(action_id)
            return
        owner = self.main.owner_of(action_id)
        if owner is not None:
            await self.run_action(action_id, owner)
        elif action_id in ("send", "insert_suggestion", "switch_compose_mode"):
            self.notify(f"Open the composer first ({self.key_label('compose_reply')} to reply, "
                        f"{self.key_label('compose_note')} for a note)", severity="warning", markup=False)
        else:
            what = REGISTRY[action_id].description if action_id in REGISTRY else action_id
            self.notify(f"“{what}” is not available here", severity="warning", markup=False)

    async def run_palette_entry(self, kind: str, ident: str) -> None:
        if kind == "view":
            self.main.switch_view(ident)
        elif kind == "macro":
            tid = self.main.settle()
            if tid is not None:
                self.main.apply_macro(tid, ident)
        else:
            await self.run_registry_action(ident)



def run_app(*, db_path: Path, config, read_only: bool, demo: bool, data_dir: Path | None = None) -> int:
    """Run the console; returns the exit code. Keymap problems also go to stderr (one line each)."""
    app = SwitchboardApp(db_path=db_path, config=config, read_only=read_only, demo=demo, data_dir=data_dir)
    for line in app.startup_problems:
        print(f"switchboard: {line}", file=sys.stderr)
    result = app.run()
    return result if isinstance(result, int) else (app.return_code or 0)
