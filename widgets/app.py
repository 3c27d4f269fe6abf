"""The Switchboard console: a Textual app over the cache.

Everything on screen is read from the SQLite cache; every change goes through
:func:`console.actions.perform` (via :meth:`SwitchboardApp.perform`). Nothing here
awaits the network: the sync engine starts after the first frame and tells the app
what changed through ``on_change``.

Start-up is kept light on purpose (first paint is a benchmark target): only
Textual, the cache queries and the inbox are imported before the first frame;
the engine, providers, choosers, help and dashboard load when first needed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from rich.text import Text
from textual import events
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingsMap
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.widget import MountError
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from console.actions import REGISTRY, Context, Result, check
from console.actions import perform as gate_perform
from console.cache import connect, queries
from console.cache.queries import ALL_STATES, Filter
from console.errors import UserError
from console.views import View, ViewQueryError, builtin_views, jump_letters, queue_views, saved_views
from widgets.commands import SwitchboardCommands
from widgets.inbox import InboxList
from widgets.keys import MAIN_CONTEXTS, Keymap, app_bindings, build_keymap
from widgets.search import SearchBar
from widgets.statusbar import StatusBar

CSS_FILE = Path(__file__).resolve().parent.parent / "widgets" / "app.tcss"
WIDE = 110  # columns from which the customer pane shows by default
PANE_DELAY = 0.1  # s: the panes follow the cursor once it rests (holding j stays fast)
PREFIX_TIMEOUT = 1.5  # s to type the second key of a sequence (g g, g m, ...)
QUIET_ACTIONS = {"save_draft", "mark_read"}


def now() -> float:
    """The app's clock (tests pin it for stable countdowns and snapshots)."""
    return time.time()


class QuitScreen(ModalScreen[bool]):
    """Asked before quitting with unsent drafts."""

    DEFAULT_CSS = """
    QuitScreen { align: center middle; }
    QuitScreen > Vertical { width: 60; max-width: 95%; height: auto; border: thick $warning; background: $surface;
                            padding: 1 2; }
    QuitScreen Horizontal { height: auto; margin-top: 1; }
    QuitScreen Button { margin-right: 2; }
    """
    BINDINGS = [Binding("escape,n", "stay", "Stay", show=False), Binding("y", "leave", "Quit", show=False)]

    def __init__(self, drafts: int) -> None:
        super().__init__(id="quit-confirm")
        self.drafts = drafts

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(Text(f"{self.drafts} unsent draft{'s' if self.drafts != 1 else ''} — they are kept and "
                              "will be here next time. Quit anyway? (y / n)"))
            with Horizontal():
                yield Button("Quit (y)", id="leave", variant="warning")
                yield Button("Stay (n)", id="stay", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#stay", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "leave")

    def action_stay(self) -> None:
        self.dismiss(False)

    def action_leave(self) -> None:
        self.dismiss(True)


class SwitchboardApp(App):
    """Inbox | conversation | customer, a status bar, and every key from the registry."""

    CSS_PATH = str(CSS_FILE)
    TITLE = "Switchboard"
    COMMANDS = {SwitchboardCommands}
    COMMAND_PALETTE_DISPLAY = ":"

    def __init__(self, *, db_path: Path | str, config, read_only: bool = False, demo: bool = False,
                 start_engine: bool = True, data_dir: Path | None = None) -> None:
        super().__init__()
        self.db_path = Path(db_path)
        self.db = connect(self.db_path)
        self.config = config
        self.read_only = bool(read_only or getattr(config, "read_only", False))
        self.demo = demo
        self.data_dir = data_dir
        self.start_engine = start_engine
        self.ctx = Context(db=self.db, agent=config.agent_name, role=config.role, read_only=self.read_only,
                           config=config)
        self.engine = None
        self.engine_note = "sync starting…" if start_engine else "sync off"
        # Keys: the registry plus [keymap]; problems are reported once at start-up.
        self.keymap: Keymap = build_keymap(config.keymap)
        self.startup_problems: list[str] = list(self.keymap.problems)
        kept = [b for _, b in self._bindings if b.action not in ("command_palette", "app.command_palette")]
        self._bindings = BindingsMap(kept + app_bindings(self.keymap, {
            a: f"run('{a}')" for a in REGISTRY}))
        # Views.
        self._builtin = builtin_views(config.agent_name)
        try:
            self._saved = saved_views(config, config.agent_name)
        except ViewQueryError as exc:
            self._saved = []
            self.startup_problems.append(str(exc))
        self._queue_views: list[View] | None = None
        self.view: View = next(v for v in self._builtin if v.id == "all_open")
        self._view_before_search: View | None = None
        self._sequences = self.keymap.sequences()
        letters = jump_letters(self._builtin + self._saved)
        for letter, view in letters.items():
            seq = self._sequences.setdefault("g", {})
            if letter in seq and not seq[letter].startswith("view:"):
                self.startup_problems.append(
                    f"views: key {letter!r} of view {view.name!r} clashes with g {letter} "
                    f"({seq[letter]}) — pick another key for the view")
                continue
            seq[letter] = f"view:{view.id}"
        self._pending_prefix: str | None = None
        self._prefix_timer = None
        self._pane_timer = None
        self._refresh_timer = None
        self._changed: set[int] | None = set()
        self._customer_override: bool | None = None
        self._panes_ready = False

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with Vertical(id="inbox-column"):
                yield SearchBar(self.db, db_path=self.db_path, agent=self.config.agent_name)
                yield InboxList(self.db, clock=lambda: now())
            # The panes load right after the first frame (their imports and widgets cost first paint).
            yield Vertical(id="conversation-slot")
            yield Vertical(id="customer-slot")
        yield StatusBar(clock=lambda: now())

    def _main_query(self, selector):
        """Widgets of the main screen, even while a chooser, help or the dashboard is on top."""
        stack = self.screen_stack
        if not stack:
            raise NoMatches("no screen")
        return stack[0].query_one(selector)

    @property
    def inbox(self) -> InboxList:
        return self._main_query(InboxList)

    @property
    def search_bar(self) -> SearchBar:
        return self._main_query(SearchBar)

    @property
    def statusbar(self) -> StatusBar:
        return self._main_query(StatusBar)

    @property
    def conversation(self):
        """The ConversationPane (a placeholder until it has loaded)."""
        return self._main_query("#conversation")

    @property
    def customer(self):
        """The CustomerPane (a placeholder until it has loaded)."""
        return self._main_query("#customer")

    @property
    def customer_visible(self) -> bool:
        return bool(self._main_query("#customer-slot").display)

    async def _mount_panes(self) -> None:
        """Mount the conversation and customer panes (after the first frame) and show the current thread."""
        try:
            from widgets.conversation import ConversationPane
            conversation = ConversationPane()
        except ImportError as exc:  # pragma: no cover - the panes ship with the app
            conversation = Static(f"The conversation pane is not installed ({exc}).", id="conversation")
        try:
            from widgets.customer import CustomerPane
            customer = CustomerPane()
        except ImportError as exc:  # pragma: no cover
            customer = Static(f"The customer pane is not installed ({exc}).", id="customer")
        await self._main_query("#conversation-slot").mount(conversation)
        await self._main_query("#customer-slot").mount(customer)
        self._panes_ready = True
        if self._pane_timer is None:
            self._show_panes(self._shown_thread or self.inbox.current_thread_id)

    def on_mount(self) -> None:
        bar = self.statusbar
        bar.read_only = self.read_only
        bar.demo = self.demo
        if self.read_only:
            self.sub_title = "READ-ONLY"
        # Widget-level bindings (composer, customer pane, ...) take [keymap] through Textual's keymap.
        widget_keymap = {a: ",".join(keys) for a, keys in self.config.keymap.items()
                         if a in REGISTRY and REGISTRY[a].context not in MAIN_CONTEXTS and keys}
        if widget_keymap:
            self.set_keymap(widget_keymap)
        self.inbox.set_filter(self.view.filter)
        self.inbox.focus()
        self._layout_customer(self.size.width)
        self._update_status()
        for line in self.startup_problems:
            self.notify(line, title="config.toml", severity="warning", timeout=12, markup=False)
        self.call_after_refresh(self._after_first_frame)
        self.set_interval(1.0, self._tick_status)
        self.set_interval(30.0, self._tick_countdowns)
        if self.start_engine:
            self.call_after_refresh(self._boot_engine)
        if self.read_only:
            self.call_after_refresh(self._open_dashboard_if_available)

    async def _after_first_frame(self) -> None:
        self._configure_sla()
        try:
            await self._mount_panes()
        except (MountError, NoMatches):  # quitting already
            return
        self.inbox.refresh()  # countdowns with the configured SLA policies

    def _configure_sla(self) -> None:
        try:
            from console import sla
            sla.configure(sla.parse(getattr(self.config, "raw", {}) or {}))
        except ImportError:
            pass
        except UserError as exc:
            self.startup_problems.append(str(exc))

    def on_resize(self, event: events.Resize) -> None:
        self._layout_customer(event.size.width)

    def _layout_customer(self, width: int) -> None:
        auto = width >= WIDE and bool(getattr(self.config, "customer_pane", True))
        show = self._customer_override if self._customer_override is not None else auto
        try:
            pane = self._main_query("#customer-slot")
        except NoMatches:  # before compose
            return
        pane.display = show
        self.screen_stack[0].set_class(width < WIDE, "-narrow")

    # ------------------------------------------------------------------ the engine (after the first frame)

    def _boot_engine(self) -> None:
        self.run_worker(self._start_engine(), name="engine", group="engine", exit_on_error=False)

    async def _start_engine(self) -> None:
        try:
            from console.engine import Engine
        except ImportError as exc:
            self.engine_note = f"sync engine not available ({exc})"
            self._update_status()
            return
        service = None
        try:
            from console.service import Service
            service = Service(self.config)
        except ImportError:
            pass
        except UserError as exc:
            self.notify(str(exc), title="config.toml", severity="warning", timeout=12, markup=False)
        self.engine = Engine(self.db, self.config, read_only=self.read_only, service=service,
                             on_change=self.on_engine_change, data_dir=self.data_dir)
        await self.engine.start()
        self.engine_note = ""
        self._update_status()

    def on_engine_change(self, thread_ids: set[int]) -> None:
        """Called by the engine on the event loop after each applied batch or outbox change."""
        self.schedule_refresh(thread_ids)

    def schedule_refresh(self, thread_ids: set[int] | None = None) -> None:
        """Coalesce refreshes: many batches in a burst give one redraw."""
        if thread_ids is None or self._changed is None:
            self._changed = None
        else:
            self._changed |= set(thread_ids)
        if self._refresh_timer is None:
            self._refresh_timer = self.set_timer(0.05, self._apply_refresh)

    def _apply_refresh(self) -> None:
        self._refresh_timer = None
        changed, self._changed = self._changed, set()
        self.refresh_data(changed)

    def _main_mounted(self) -> bool:
        """False while quitting (the main screen's widgets are gone)."""
        try:
            self._main_query(StatusBar)
        except NoMatches:
            return False
        return True

    def refresh_data(self, thread_ids: set[int] | None = None) -> None:
        """Re-read the inbox (cursor kept) and the panes showing a changed conversation."""
        if not self._main_mounted():
            return
        self.inbox.reload()
        tid = self._shown_thread
        if self._panes_ready and (thread_ids is None or tid in thread_ids or not thread_ids):
            for name in ("#conversation", "#customer"):
                try:
                    self._call(self._main_query(name), "reload")
                except NoMatches:
                    pass
        self._update_status()

    async def on_unmount(self) -> None:
        await self._stop_engine()

    async def _stop_engine(self) -> None:
        engine, self.engine = self.engine, None
        if engine is not None:
            try:
                await engine.stop()
            except Exception:  # noqa: BLE001  (quitting must not fail)
                pass

    # ------------------------------------------------------------------ status bar

    def _update_status(self) -> None:
        if not self._main_mounted():
            return
        accounts = list(self.engine.states.values()) if self.engine is not None else []
        self.statusbar.set_state(view_title=self.view.name, view_count=self.inbox.total, accounts=accounts,
                                 outbox=queries.outbox_counts(self.db), engine_note=self.engine_note)

    def _tick_status(self) -> None:
        self._update_status()

    def _tick_countdowns(self) -> None:
        if self._main_mounted():
            self.inbox.refresh()

    # ------------------------------------------------------------------ the public interface for the panes

    @property
    def current_thread_id(self) -> int | None:
        """The conversation the agent is on: the one in the panes, or the inbox cursor's while it moves."""
        if self._pane_timer is not None or self._shown_thread is None or self.inbox.has_focus:
            # Keys typed in the inbox act on the cursor's row, even when they arrive in one
            # burst ahead of the cursor's own highlight message (e.g. "j j r" pasted fast).
            return self.inbox.current_thread_id
        return self._shown_thread

    _shown_thread: int | None = None
    _pinned: tuple[int, int | None] | None = None  # (opened thread, inbox cursor's thread at that moment)

    def perform(self, action_id: str, thread_id: int | None = None, **args) -> Result:
        """Run an action through the one write gate; tell the agent how it went; refresh what changed."""
        result = gate_perform(self.ctx, action_id, thread_id, **args)
        if not result.ok:
            refused = result.message.startswith("read-only")
            self.notify(result.message, title="Read-only" if refused else None,
                        severity="warning" if refused else "error", timeout=6, markup=False)
            return result
        action = REGISTRY.get(action_id)
        if result.message and action_id not in QUIET_ACTIONS:
            self.notify(result.message, timeout=3, markup=False)
        if action is not None and action.mutating and action_id != "save_draft":
            self.refresh_data({thread_id} if thread_id is not None else None)
            if self.engine is not None:
                try:
                    self.engine.wake_outbox()
                except Exception:  # noqa: BLE001
                    pass
        return result

    def open_thread(self, thread_id: int, *, focus: bool = True) -> None:
        """Select a conversation: in the inbox if it is in the view, and in the panes; mark it read."""
        self.inbox.select_thread(thread_id)
        self._pinned = (thread_id, self.inbox.current_thread_id)
        if self._pane_timer is not None:  # an explicit open wins over a cursor move still settling
            self._pane_timer.stop()
        self._show_panes(thread_id)
        if focus:
            self._focus_conversation()
        if not self.read_only:
            row = self.db.execute("SELECT unread FROM threads WHERE id=?", (thread_id,)).fetchone()
            if row is not None and row["unread"]:
                self.perform("mark_read", thread_id)

    def show_threads(self, thread_ids, title: str) -> None:
        """The inbox filtered to these conversations (dashboard drill-down, customer history)."""
        while len(self.screen_stack) > 1:
            self.pop_screen()
        view = View("custom", title, Filter(statuses=ALL_STATES, thread_ids=tuple(thread_ids), order="recent"),
                    kind="custom")
        self.switch_view(view)
        self.inbox.focus()

    # ------------------------------------------------------------------ views

    def views_list(self, with_queues: bool = True) -> list[View]:
        if with_queues and self._queue_views is None:
            self._queue_views = queue_views(self.db)
        return self._builtin + self._saved + (self._queue_views or [] if with_queues else [])

    def view_letters(self) -> dict[str, View]:
        return jump_letters(self._builtin + self._saved)

    def macro_names(self) -> list[str]:
        try:
            from console import macros
            return list(macros.names(self.config))
        except (ImportError, UserError):
            return []

    def switch_view(self, view: View | str) -> None:
        if isinstance(view, str):
            found = [v for v in self.views_list() if v.id == view]
            if not found:
                self.notify(f"no view {view!r}", severity="error", markup=False)
                return
            view = found[0]
        if self.search_bar.is_open:
            self.search_bar.close()
        self._view_before_search = None
        self.view = view
        flt = view.filter
        if view.words or view.author:
            ids = queries.search_threads(self.db, view.words, author=view.author, limit=500)
            flt = flt.with_(thread_ids=tuple(ids))
        self.inbox.set_filter(flt, keep_thread=self.inbox.current_thread_id)
        self._update_status()

    # ------------------------------------------------------------------ panes follow the cursor

    def on_inbox_list_highlighted(self, event: InboxList.Highlighted) -> None:
        tid = event.thread_id
        if tid != self.inbox.current_thread_id:
            return  # stale: the cursor moved on (or a conversation was opened) after this was posted
        if self._pinned is not None:
            opened, cursor_then = self._pinned
            if tid == cursor_then and tid != opened:
                return  # posted before an explicit open of a conversation outside the view: keep that one
            self._pinned = None
        if self._pane_timer is not None:
            self._pane_timer.stop()
        self._pane_timer = self.set_timer(PANE_DELAY, lambda: self._show_panes(tid))

    def on_inbox_list_opened(self, event: InboxList.Opened) -> None:
        self.open_thread(event.thread_id)

    def _show_panes(self, thread_id: int | None) -> None:
        if self._pane_timer is not None:
            self._pane_timer.stop()
        self._pane_timer = None
        self._shown_thread = thread_id
        if not self._panes_ready:
            return  # _mount_panes shows the cursor's thread once they have loaded
        try:
            conversation, customer = self.conversation, self.customer
        except NoMatches:  # not loaded yet (they show the cursor's thread when they are), or quitting
            return
        self._call(conversation, "show", thread_id)
        self._call(customer, "show", thread_id)

    def on_customer_pane_open_thread(self, event) -> None:
        self.open_thread(event.thread_id)

    def _focus_conversation(self) -> None:
        pane = self._pane("#conversation")
        if pane is None:
            return
        try:
            target = pane.query_one("#conv-scroll")
        except Exception:  # noqa: BLE001
            target = pane
        if target.focusable:
            target.focus()
        elif pane.focusable:
            pane.focus()

    def _pane(self, selector: str):
        """A pane, or None before it has loaded (or while quitting)."""
        try:
            return self._main_query(selector)
        except NoMatches:
            return None

    @staticmethod
    def _call(widget, method: str, *args):
        fn = getattr(widget, method, None)
        return fn(*args) if callable(fn) else None

    # ------------------------------------------------------------------ search

    def on_search_bar_results(self, event: SearchBar.Results) -> None:
        if not self._main_mounted() or not self.search_bar.is_open:
            return
        if self._view_before_search is None:
            self._view_before_search = self.view
        query = event.query.strip()
        self.view = View("search", f"Search: {query}" if query else "Search", event.filter, kind="search")
        self.inbox.set_filter(event.filter)
        self._update_status()

    def on_search_bar_submitted(self, _event: SearchBar.Submitted) -> None:
        self.inbox.focus()

    def on_search_bar_cancelled(self, _event: SearchBar.Cancelled) -> None:
        self._close_search(restore=True)

    def _close_search(self, restore: bool) -> None:
        self.search_bar.close()
        if restore and self._view_before_search is not None:
            view, self._view_before_search = self._view_before_search, None
            self.switch_view(view)
        self.inbox.focus()

    # ------------------------------------------------------------------ keys

    async def on_event(self, event: events.Event) -> None:
        # A pending sequence prefix (g …) takes the next key before any binding does.
        if isinstance(event, events.Key) and self._pending_prefix is not None and not event.is_forwarded:
            prefix, self._pending_prefix = self._pending_prefix, None
            if self._prefix_timer is not None:
                self._prefix_timer.stop()
                self._prefix_timer = None
            target = self._sequences.get(prefix, {}).get(event.key)
            if target is not None:
                event.stop()
                event.prevent_default()
                if target.startswith("view:"):
                    self.switch_view(target[5:])
                else:
                    await self.run_action(f"run('{target}')")
                return
            if event.key == "escape":
                return
        await super().on_event(event)

    SCREEN_WIDE_ACTIONS = {"help", "palette", "quit", "dashboard"}

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("run", "sequence_prefix") and len(self.screen_stack) > 1:
            if isinstance(self.screen, ModalScreen) or action == "sequence_prefix":
                return False  # a chooser, help or the quit question has the keys
            # Another full screen (the dashboard): only help, palette, quit and D itself.
            return bool(parameters) and parameters[0] in self.SCREEN_WIDE_ACTIONS
        return True

    def action_sequence_prefix(self, key: str) -> None:
        self._pending_prefix = key
        if self._prefix_timer is not None:
            self._prefix_timer.stop()
        self._prefix_timer = self.set_timer(PREFIX_TIMEOUT, self._clear_prefix)
        options = self._sequences.get(key, {})
        hint = "  ".join(f"{key} {k}: {self._sequence_label(t)}" for k, t in options.items())
        self.notify(hint or f"{key} …", title=f"{key} …", timeout=PREFIX_TIMEOUT, markup=False)

    def _sequence_label(self, target: str) -> str:
        if target.startswith("view:"):
            vid = target[5:]
            return next((v.name for v in self._builtin + self._saved if v.id == vid), vid)
        return REGISTRY[target].title if target in REGISTRY else target

    def _clear_prefix(self) -> None:
        self._pending_prefix = None
        self._prefix_timer = None

    async def action_run(self, action_id: str) -> None:
        """Every registry key lands here."""
        handler = getattr(self, f"do_{action_id}", None)
        action = REGISTRY.get(action_id)
        if action is None:
            return
        if action.mutating and self.read_only:
            # Refused by the gate itself (and audited), whatever the UI would have opened.
            self.perform(action_id, self.current_thread_id)
            return
        if handler is not None:
            result = handler()
            if hasattr(result, "__await__"):
                await result
            return
        if action.handler is not None:
            await self._run_data_action(action_id)

    async def _run_data_action(self, action_id: str) -> None:
        action = REGISTRY[action_id]
        tid = self.current_thread_id
        if action.needs_thread and tid is None:
            self.notify("No conversation selected", severity="warning", markup=False)
            return
        if action.context == "customer":
            pane = self._pane("#customer")
            fn = getattr(pane, f"action_{action_id}", None)
            if fn is not None:
                fn()
                return
        if action.context == "composer":
            self.notify("Open the composer first (r to reply, n for a note)", severity="warning", markup=False)
            return
        self.perform(action_id, tid)

    # --- moving
    def do_cursor_down(self) -> None:
        self.inbox.move(1)

    def do_cursor_up(self) -> None:
        self.inbox.move(-1)

    def do_cursor_top(self) -> None:
        self.inbox.go_top()

    def do_cursor_bottom(self) -> None:
        self.inbox.go_bottom()

    def do_half_page_down(self) -> None:
        self.inbox.half_page(1)

    def do_half_page_up(self) -> None:
        self.inbox.half_page(-1)

    def do_open(self) -> None:
        tid = self.inbox.current_thread_id
        if tid is not None:
            self.open_thread(tid)

    def do_back(self) -> None:
        if self.search_bar.is_open:
            self._close_search(restore=True)
        elif self.focused is not None and self.focused is not self.inbox:
            self.inbox.focus()
        elif self.view.kind in ("search", "custom") and self._view_before_search is not None:
            self._close_search(restore=True)
        elif self.view.kind in ("search", "custom"):
            self.switch_view("all_open")

    def do_focus_next(self) -> None:
        self.screen.focus_next()

    def do_focus_previous(self) -> None:
        self.screen.focus_previous()

    # --- screens
    def do_search(self) -> None:
        if self._view_before_search is None:
            self._view_before_search = self.view
        self.search_bar.open()

    def do_views(self) -> None:
        from widgets.views import ViewSwitcher

        def chosen(view_id: str | None) -> None:
            if view_id:
                self.switch_view(view_id)

        self.push_screen(ViewSwitcher(self.views_list(), self.view_letters(), self.view.id), chosen)

    def do_toggle_customer(self) -> None:
        slot = self._main_query("#customer-slot")
        self._customer_override = not slot.display
        slot.display = self._customer_override

    def do_help(self) -> None:
        from widgets.help import HelpScreen

        letters = [(k, v.name) for k, v in self.view_letters().items()]
        self.push_screen(HelpScreen(self.keymap, letters, self.read_only))

    def do_palette(self) -> None:
        self.action_command_palette()

    def do_dashboard(self) -> None:
        try:
            from widgets.dashboard import DashboardScreen
        except ImportError:
            self.notify("The supervisor dashboard is not installed", severity="warning", markup=False)
            return
        if isinstance(self.screen, DashboardScreen):
            self.pop_screen()  # D again: back to the inbox
            return
        self.push_screen(DashboardScreen())

    def _open_dashboard_if_available(self) -> None:
        try:
            from widgets.dashboard import DashboardScreen
        except ImportError:
            return
        self.push_screen(DashboardScreen())

    def do_promises(self) -> None:
        try:
            from console import sla
            text = sla.promises_text(self.config)
        except (ImportError, UserError) as exc:
            self.notify(f"no response-time promises: {exc}", severity="warning", markup=False)
            return
        if getattr(self._pane("#conversation"), "composing", False):
            self._call(self._pane("#conversation"), "insert_text", text)
        else:
            self.notify(text, title="Our promises", timeout=10, markup=False)

    async def do_quit(self) -> None:
        await self.action_quit()

    async def action_quit(self) -> None:
        drafts = queries.unsent_drafts(self.db)
        if drafts:
            async def answered(leave: bool | None) -> None:
                if leave:
                    await self._stop_engine()
                    self.exit(0)

            self.push_screen(QuitScreen(drafts), answered)
            return
        await self._stop_engine()
        self.exit(0)

    # --- the current conversation
    def _need_thread(self) -> int | None:
        tid = self.current_thread_id
        if tid is None:
            self.notify("No conversation selected", severity="warning", markup=False)
        return tid

    def _compose(self, kind: str) -> None:
        tid = self._need_thread()
        if tid is None:
            return
        if self._shown_thread != tid:
            self._show_panes(tid)
        self._call(self._pane("#conversation"), "open_composer", kind)

    def do_compose_reply(self) -> None:
        self._compose("reply")

    def do_compose_note(self) -> None:
        self._compose("note")

    def do_send(self) -> None:
        self.notify("Open the composer first (r to reply, n for a note)", severity="warning", markup=False)

    def do_insert_suggestion(self) -> None:
        self.notify("Open the composer first (r to reply)", severity="warning", markup=False)

    def _choose(self, screen, then) -> None:
        tid = self._need_thread()
        if tid is None:
            return

        def done(value) -> None:
            if value is not None:
                then(tid, value)

        self.push_screen(screen, done)

    def do_choose_snooze(self) -> None:
        from widgets.choosers import SnoozeChooser

        self._choose(SnoozeChooser(), lambda tid, until: self.perform("snooze", tid, until=until))

    def do_choose_assignee(self) -> None:
        from widgets.choosers import AssignChooser

        self._choose(AssignChooser(self._agents(), self.config.agent_name),
                     lambda tid, who: self.perform("assign", tid, to=who))

    def do_choose_tags(self) -> None:
        from widgets.choosers import TagChooser

        tid = self.current_thread_id
        current: list[str] = []
        if tid is not None:
            row = queries.thread(self.db, tid)
            import json
            current = json.loads(row["tags"] or "[]") if row else []
        self._choose(TagChooser(current, self._known_tags()),
                     lambda tid, change: self.perform("tag", tid, add=change.get("add", []),
                                                      remove=change.get("remove", []))
                     if change.get("add") or change.get("remove") else None)

    def do_choose_priority(self) -> None:
        from widgets.choosers import PriorityChooser

        tid = self.current_thread_id
        row = queries.thread(self.db, tid) if tid is not None else None
        self._choose(PriorityChooser(int(row["priority"]) if row else 1),
                     lambda tid, level: self.perform("priority", tid, level=level))

    def do_choose_macro(self) -> None:
        from widgets.choosers import MacroChooser

        names = self.macro_names()
        if not names:
            self.notify("No macros configured — add [[macros]] to config.toml", severity="warning", markup=False)
            return
        self._choose(MacroChooser(names), self.apply_macro)

    def apply_macro(self, thread_id: int, name: str) -> None:
        """Insert a macro: the action renders it into the draft; the open composer shows the draft."""
        result = self.perform("apply_macro", thread_id, name=name)
        if result.ok:
            self._show_panes(thread_id)
            self._call(self._pane("#conversation"), "open_composer", "reply")

    def _agents(self) -> list[str]:
        names: list[str] = []
        raw = (getattr(self.config, "raw", {}) or {}).get("agents", [])
        if isinstance(raw, dict):
            raw = raw.get("names", []) or list(raw)
        for a in raw if isinstance(raw, list) else []:
            name = a.get("name") if isinstance(a, dict) else a
            if isinstance(name, str) and name not in names:
                names.append(name)
        for (name,) in self.db.execute("SELECT DISTINCT assignee FROM threads WHERE assignee IS NOT NULL LIMIT 50"):
            if name not in names:
                names.append(name)
        return names

    def _known_tags(self) -> list[str]:
        rows = self.db.execute(
            """SELECT DISTINCT j.value FROM (SELECT tags FROM threads ORDER BY id DESC LIMIT 2000) t,
                      json_each(t.tags) j ORDER BY 1""").fetchall()
        return [r[0] for r in rows]

    # --- palette
    async def run_palette_entry(self, kind: str, ident: str) -> None:
        if kind == "view":
            self.switch_view(ident)
        elif kind == "macro":
            tid = self._need_thread()
            if tid is not None:
                self.apply_macro(tid, ident)
        else:
            await self.action_run(ident)


def run_app(*, db_path: Path, config, read_only: bool, demo: bool, data_dir: Path | None = None, **_ignored) -> int:
    """Run the console; returns the exit code. Keymap problems also go to stderr (one line each)."""
    app = SwitchboardApp(db_path=db_path, config=config, read_only=read_only, demo=demo, data_dir=data_dir)
    for line in app.startup_problems:
        print(f"switchboard: {line}", file=sys.stderr)
    result = app.run()
    return result if isinstance(result, int) else (app.return_code or 0)
