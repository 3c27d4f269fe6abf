"""The main screen: inbox | conversation | customer, the views and search, and THE selection.

The current conversation is one reactive, :attr:`MainScreen.current`. Two things set
it: the inbox cursor once it has rested (:data:`PANE_DELAY`; the screen watches the
cursor's reactive directly, so no highlight can arrive late), and an explicit open.
The panes watch it. An action on "the current conversation" first settles a cursor
still in motion, so keys typed in one burst (``j j r``) act on the row they reached.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Iterable
from pathlib import Path

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.reactive import var
from textual.screen import Screen
from textual.widget import MountError

from console.actions import REGISTRY, Result
from console.actions.bulk import BULK_ACTIONS
from console.cache import queries
from console.cache.queries import ALL_STATES, Filter
from console.errors import UserError
from console.views import View, ViewQueryError, builtin_views, jump_letters, queue_views, saved_views
from widgets import queue_flow
from widgets.compositor import LineCompositor
from widgets.host import Host
from widgets.first_run import FirstRunGuide, guide_mode
from widgets.inbox import InboxList
from widgets.keys import MAIN_CONTEXTS, RegistryBindings
from widgets.merge_actions import MergeActions
from widgets.presence import announce, inbox_marks
from widgets.search import SearchBar
from widgets.sequences import KEY_PREFIX, VIEW_PREFIX, SequencePrompt, sequence_table, target_label
from widgets.statusbar import StatusBar
from widgets.undo import UndoKey

WIDE = 110  # columns from which the customer pane shows by default
# Below this many columns one pane fills the screen at a time (list, conversation, customer), as
# mutt's pager: at 100 the conversation still gets ~50 columns beside the list; at 99 and less it
# would get under 50 and the composer under 45, so it takes the whole width instead.
SINGLE = 100
PANES = {"list": "#inbox-column", "conversation": "#conversation-slot", "customer": "#customer-slot"}
PANE_DELAY = 0.1  # s: the panes follow the cursor once it rests (holding j stays fast)
SYNC_REREAD = 0.25  # s: during a sync the screen re-reads the cache at most this often


class CacheChanged(Message):
    """The cache changed under the screen: these conversations (None: any of them).

    Messages waiting in a row coalesce into one that carries all their conversations,
    so a burst of stored batches costs the screen one re-read.
    """

    def __init__(self, thread_ids: set[int] | None, *, synced: bool = False) -> None:
        super().__init__()
        self.thread_ids = None if thread_ids is None else set(thread_ids)
        self.synced = synced  # from the sync engine (not the agent's own action)

    def can_replace(self, message: Message) -> bool:
        # Textual asks the message it is about to handle whether the next one in the queue
        # may stand for it; that one then carries both.
        if not isinstance(message, CacheChanged):
            return False
        if self.thread_ids is None or message.thread_ids is None:
            message.thread_ids = None
        else:
            message.thread_ids |= self.thread_ids
        message.synced = message.synced and self.synced
        return True


def _data_action(action_id: str):
    def action(self: MainScreen) -> None:
        self.perform_on_current(action_id)

    action.__doc__ = REGISTRY[action_id].description
    return action


# Every data-changing action of the main contexts (close, reopen, mark_unread, retry_send, …)
# is carried out on the current conversation: its declaration in the registry is all it takes.
DataActions = type("DataActions", (), {
    "__module__": __name__,
    **{f"action_{a.id}": _data_action(a.id) for a in REGISTRY.values()
       if a.handler is not None and a.context in MAIN_CONTEXTS},
})


class MainScreen(RegistryBindings, UndoKey, MergeActions, DataActions, Screen):
    """The agent's desk. Every main-screen key is an ``action_<id>`` here."""

    current: var[int | None] = var(None, init=False)
    """The open conversation; the panes follow it (a var: a new value repaints nothing by itself)."""

    def __init__(self, host: Host) -> None:
        super().__init__(id="main-screen")
        self._compositor = LineCompositor()  # a step repaints two lines, not every pane's whole height
        self.host = host
        config = host.config
        self.problems: list[str] = []
        self._builtin = builtin_views(config.agent_name)
        try:
            self._saved = saved_views(config, config.agent_name)
        except ViewQueryError as exc:
            self._saved = []
            self.problems.append(str(exc))
        self._queue_views: list[View] | None = None
        self.view: View = next(v for v in self._builtin if v.id == "all_open")
        self._view_before_search: View | None = None
        self.sequences, problems = sequence_table(host.keymap, self.view_letters())
        self.problems += problems
        self._rest_timer = None
        self._changed: set[int] | None = set()  # gathered for the next re-read (None: anything)
        self._only_synced = True  # every change gathered came from a sync (its count can land later)
        self._reread_timer = None
        self._last_reread = 0.0
        self.rereads = 0  # re-reads done (for tests and the bench)
        self._customer_override: bool | None = None
        self.panes_ready = False
        self.single = False  # one pane at a time (a narrow terminal)
        self.pane = "list"  # in single-pane mode: the pane on screen
        self._pane_before_customer = "list"

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        with Horizontal(id="main"):
            with Vertical(id="inbox-column"):
                yield SearchBar(self.host.db, db_path=self.host.db_path, agent=self.host.config.agent_name)
                yield InboxList(self.host.db, clock=self.host.now, db_path=self.host.db_path)
                yield FirstRunGuide(id="first-run")  # instead of the list while there is nothing to list
            # The panes load right after the first frame (their imports and widgets cost first paint).
            yield Vertical(id="conversation-slot")
            yield Vertical(id="customer-slot")
        yield StatusBar(clock=self.host.now, why_key=self.host.key_label("accounts_status"))

    @property
    def inbox(self) -> InboxList:
        return self.query_one(InboxList)

    @property
    def search_bar(self) -> SearchBar:
        return self.query_one(SearchBar)

    @property
    def statusbar(self) -> StatusBar:
        return self.query_one(StatusBar)

    @property
    def conversation(self):
        """The ConversationPane (None until it has loaded)."""
        return self._pane("#conversation")

    @property
    def customer(self):
        """The CustomerPane (None until it has loaded)."""
        return self._pane("#customer")

    @property
    def customer_visible(self) -> bool:
        return bool(self.query_one("#customer-slot").display)

    def _pane(self, selector: str):
        try:
            return self.query_one(selector)
        except NoMatches:
            return None

    def on_mount(self) -> None:
        bar = self.statusbar
        bar.read_only = self.host.read_only
        bar.demo = getattr(self.host, "demo", False)
        bar.undo_key = self.host.key_label("undo")
        bar.help_key = self.host.key_label("help")
        self.watch(self.inbox, "highlighted", self._cursor_moved, init=False)
        self.inbox.set_filter(self.view.filter)
        self.current = self.inbox.highlighted
        self.inbox.focus()
        self._layout_customer(self.app.size.width)
        self.update_status()
        self.call_after_refresh(self._mount_panes)
        self.set_interval(1.0, self.update_status)
        self.set_interval(30.0, self.inbox.refresh)  # countdowns

    async def _mount_panes(self) -> None:
        from widgets.conversation import ConversationPane
        from widgets.customer import CustomerPane

        panes = [ConversationPane(self.host), CustomerPane(self.host)]
        try:
            await self.query_one("#conversation-slot").mount(panes[0])
            await self.query_one("#customer-slot").mount(panes[1])
        except (MountError, NoMatches):  # quitting already
            return
        for pane in panes:
            self.watch(self, "current", pane.show)  # shows the current conversation now, then follows it
        self.panes_ready = True
        self.inbox.sla_settings = self.host.section("sla")
        self.inbox.refresh()  # countdowns with the configured SLA policies
        # Everything start-up made lives as long as the screen: out of the collector's sight, a full
        # collection walks only what came since (one of the whole heap stalled a frame 100–140 ms).
        gc.freeze()

    def on_unmount(self) -> None:
        gc.unfreeze()  # what the screen held may go now (a test process opens hundreds of screens)

    def on_resize(self, event: events.Resize) -> None:
        self._layout_customer(event.size.width)

    def _layout_customer(self, width: int) -> None:
        self.single = width < SINGLE
        self.set_class(width < WIDE, "-narrow")
        self.set_class(self.single, "-single")
        if self.single:  # the pane with the focus (Enter on a wide screen, then narrowed) stays on screen
            self._show_pane(self._pane_of(self.focused) or self.pane)
            return
        self.query_one("#inbox-column").display = True
        self.query_one("#conversation-slot").display = True
        auto = width >= WIDE and self.host.config.customer_pane
        show = self._customer_override if self._customer_override is not None else auto
        self.query_one("#customer-slot").display = show

    def _show_pane(self, pane: str) -> None:
        """Single-pane mode: ``pane`` fills the screen, the others wait hidden."""
        self.pane = pane
        for name, selector in PANES.items():
            self.query_one(selector).display = name == pane

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """The pane holding the focus is marked ``-focused`` (app.tcss shows it, with or without
        colour). Single-pane mode: that pane comes on screen (Enter opens the conversation,
        Escape goes back to the list, ``c`` the customer)."""
        focused = self.focused
        for slot in self.query("#inbox-column, #conversation-slot, #customer-slot"):
            slot.set_class(focused is not None and slot in focused.ancestors_with_self, "-focused")
        if not self.single:
            return
        pane = self._pane_of(event.widget)
        if pane is not None and pane != self.pane:
            self._show_pane(pane)

    def _pane_of(self, widget) -> str | None:
        if widget is None:
            return None
        for name, selector in PANES.items():
            if self.query_one(selector) in widget.ancestors_with_self:
                return name
        return None

    # ------------------------------------------------------------------ the selection

    def _cursor_moved(self, _thread_id: int | None) -> None:
        if self._rest_timer is not None:
            self._rest_timer.stop()
        self._rest_timer = self.set_timer(PANE_DELAY, self.settle)

    def settle(self) -> int | None:
        """The current conversation, after a cursor still in motion has come to rest on its row."""
        if self._rest_timer is not None:
            self._rest_timer.stop()
            self._rest_timer = None
            self.current = self.inbox.highlighted
        return self.current

    def open_thread(self, thread_id: int, *, focus: bool = True) -> None:
        """Select a conversation: in the inbox if it is in the view, and in the panes; mark it read."""
        self.inbox.select_thread(thread_id)
        if self._rest_timer is not None:  # an explicit open wins over the cursor move it caused
            self._rest_timer.stop()
            self._rest_timer = None
        self.current = thread_id
        if focus:
            self._focus_conversation()
        if not self.host.read_only:
            row = queries.thread(self.host.db, thread_id)
            if row is not None and row["unread"]:
                self.host.perform("mark_read", thread_id)

    def show_threads(self, thread_ids: Iterable[int], title: str) -> None:
        """The inbox filtered to these conversations (dashboard drill-down, customer history)."""
        view = View("custom", title, Filter(statuses=ALL_STATES, thread_ids=tuple(thread_ids), order="recent"),
                    kind="custom")
        self.switch_view(view)
        self.inbox.focus()

    def _focus_conversation(self) -> None:
        pane = self.conversation
        if pane is not None:
            pane.focus_reading()

    def on_inbox_list_counted(self, _event: InboxList.Counted) -> None:
        self.update_status()  # the view's count in the status bar

    def on_inbox_list_opened(self, event: InboxList.Opened) -> None:
        self.open_thread(event.thread_id)

    def on_customer_pane_open_thread(self, event) -> None:
        self.open_thread(event.thread_id)

    def _need_thread(self) -> int | None:
        tid = self.settle()
        if tid is None:
            self.notify("No conversation selected", severity="warning", markup=False)
        return tid

    # ------------------------------------------------------------------ what changed

    def changed(self, thread_ids: set[int] | None, *, synced: bool = False) -> None:
        """Something changed in the cache (None: anything); the screen re-reads it once per burst."""
        self.post_message(CacheChanged(thread_ids, synced=synced))

    def on_cache_changed(self, event: CacheChanged) -> None:
        """Re-read what changed. The agent's own change shows at once; a sync's batches are
        gathered and re-read at most every :data:`SYNC_REREAD` seconds, however fast they land."""
        if event.thread_ids is None or self._changed is None:
            self._changed = None
        else:
            self._changed |= event.thread_ids
        self._only_synced = self._only_synced and event.synced
        if self._reread_timer is not None and not event.synced:
            self._reread_timer.stop()
            self._reread_timer = None
        if self._reread_timer is not None:
            return  # a re-read is already due: it takes these too
        wait = self._last_reread + SYNC_REREAD - time.monotonic() if event.synced else 0.0
        if wait > 0:
            self._reread_timer = self.set_timer(wait, self._reread)
        else:
            self._reread()

    def _reread(self) -> None:
        self._reread_timer = None
        self._last_reread = time.monotonic()
        changed, self._changed = self._changed, set()
        synced, self._only_synced = self._only_synced, True
        self.inbox.presence = inbox_marks(self.host)  # other agents on the rows ([team])
        self.rereads += 1
        self.inbox.reload(recount=not synced)
        if self.panes_ready and (changed is None or not changed or self.current in changed):
            self.conversation.reload()
            self.customer.reload()
        self.update_status()

    def update_status(self) -> None:
        accounts, note = self.host.sync_status()
        now = self.host.now()
        sending = [(r["subject"], r["next_try_at"] - now)
                   for r in queries.waiting_sends(self.host.db, now, self.host.config.agent_name)]
        self.statusbar.set_state(view_title=self.view.name, view_count=self.inbox.total, accounts=accounts,
                                 outbox=queries.outbox_counts(self.host.db), engine_note=note, sending=sending)
        self._show_first_run(accounts, note)
        announce(self)  # what this agent is on, for the team ([team]; rate-limited by the presence client)

    def _show_first_run(self, accounts: list, note: str) -> None:
        """No accounts yet, or a first sync with nothing to list: guidance or progress, not an empty list."""
        configured = [a.name for a in self.host.config.accounts if a.enabled]
        mode = guide_mode(self.inbox.total, configured, accounts, engine_starting=note.startswith("sync starting"))
        guide = self.query_one(FirstRunGuide)
        if mode is None and not guide.display:
            return
        from console.config import default_config_path

        guide.show_for(mode, configured=configured, accounts=accounts, config_path=self.host.config.path,
                       looked_at=default_config_path() if mode == "welcome" else Path())
        self.inbox.display = mode is None

    # ------------------------------------------------------------------ views and search

    def views_list(self, with_queues: bool = True) -> list[View]:
        if with_queues and self._queue_views is None:
            self._queue_views = queue_views(self.host.db)
        return self._builtin + self._saved + (self._queue_views or [] if with_queues else [])

    def view_letters(self) -> dict[str, View]:
        return jump_letters(self._builtin + self._saved)

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
            ids = queries.search_threads(self.host.db, view.words, author=view.author, limit=500)
            flt = flt.with_(thread_ids=tuple(ids))
        self.inbox.set_filter(flt, keep_thread=self.inbox.current_thread_id)
        self.update_status()

    def on_search_bar_results(self, event: SearchBar.Results) -> None:
        if not self.search_bar.is_open:
            return
        if self._view_before_search is None:
            self._view_before_search = self.view
        query = event.query.strip()
        self.view = View("search", f"Search: {query}" if query else "Search", event.filter, kind="search")
        self.inbox.set_filter(event.filter)
        self.update_status()

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

    # ------------------------------------------------------------------ two-key sequences

    def on_key(self, event: events.Key) -> None:
        options = self.sequences.get(event.key)
        if options is None:
            return
        event.stop()
        event.prevent_default()
        views = self._builtin + self._saved
        hint = "  ".join(f"{event.key} {k}: {target_label(t, views)}" for k, t in options.items())
        self.notify(hint, title=f"{event.key} …", timeout=1.5, markup=False)
        self.host.push_screen(SequencePrompt(options), self._sequence_done)

    async def _sequence_done(self, target: str | None) -> None:
        if target is None:
            return
        if target.startswith(VIEW_PREFIX):
            self.switch_view(target[len(VIEW_PREFIX):])
        elif target.startswith(KEY_PREFIX):  # the key acts as if it had been typed alone
            active = self.active_bindings.get(target[len(KEY_PREFIX):])
            if active is not None and active.enabled:
                await self.app.run_action(active.binding.action, active.node)
        else:
            await self.app.run_action(target, self if hasattr(self, f"action_{target}") else self.app)

    # ------------------------------------------------------------------ actions: moving

    def action_cursor_down(self) -> None:
        self.inbox.move(1)

    def action_cursor_up(self) -> None:
        self.inbox.move(-1)

    def action_cursor_top(self) -> None:
        self.inbox.go_top()

    def action_cursor_bottom(self) -> None:
        self.inbox.go_bottom()

    def action_half_page_down(self) -> None:
        self.inbox.half_page(1)

    def action_half_page_up(self) -> None:
        self.inbox.half_page(-1)

    def action_open(self) -> None:
        tid = self.inbox.current_thread_id
        if tid is not None:
            self.open_thread(tid)

    # ------------------------------------------------------------------ actions: marks (bulk)

    MARKING = ("toggle_mark", "mark_all")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Marking keys belong to the list: while another pane has the focus (a reader's space
        pages down) they mark nothing."""
        if action in self.MARKING and self.focused is not None and self.focused is not self.inbox:
            return False
        return True

    def action_toggle_mark(self) -> None:
        """Mark or unmark the row under the cursor, then step down (space space … marks a run)."""
        if self.inbox.toggle_mark() is not None:
            self.inbox.move(1)

    def action_mark_all(self) -> None:
        inbox = self.inbox
        if inbox.marked and len(inbox.marked) >= inbox.total:
            inbox.clear_marks()
        else:
            inbox.mark_all()

    def action_clear_marks(self) -> None:
        self.inbox.clear_marks()

    def act(self, action_id: str, thread_id: int | None, **args) -> Result:
        """An action on the current conversation — or, with marks, one bulk action on every marked
        conversation (console.actions.bulk: the same gate, one audit row each). The ones it could
        not change stay marked."""
        marked = self.inbox.marked_in_order
        if marked and action_id in BULK_ACTIONS:
            result = self.host.perform("bulk", None, action=action_id, threads=marked, **args)
            self.inbox.unmark(result.data.get("done", ()))
            return result
        return self.host.perform(action_id, thread_id, **args)

    def _marked_tags(self) -> list[str]:
        """The tags every marked conversation has (unticking one removes it from all)."""
        rows = queries.inbox_by_ids(self.host.db, Filter(statuses=ALL_STATES, thread_ids=tuple(self.inbox.marked)))
        common = set(rows[0].tags) if rows else set()
        for row in rows[1:]:
            common &= set(row.tags)
        return sorted(common)

    # ------------------------------------------------------------------ queue flow (send and next)

    def before_action(self, action_id: str, thread_id: int | None) -> queue_flow.Place | None:
        """The agent's place in the queue, taken before an action that may finish the conversation."""
        if not self.host.config.auto_advance:
            return None
        focused = self.focused
        pane = self.conversation
        reading = focused is not None and pane is not None and pane in focused.ancestors_with_self
        return queue_flow.place_of(self.inbox, action_id, thread_id, reading=reading)

    def after_action(self, place: queue_flow.Place | None, result: Result) -> None:
        if place is not None and result.ok:
            self.call_later(self._advance, place)  # after the composer has let go of the sent text

    def _advance(self, place: queue_flow.Place) -> None:
        target = queue_flow.next_conversation(self.inbox, place)
        if target is None:
            return
        if place.reading:
            self.open_thread(target)
            return
        self.inbox.select_thread(target)
        if self._rest_timer is not None:
            self._rest_timer.stop()
            self._rest_timer = None
        self.current = target

    def action_back(self) -> None:
        if self.search_bar.is_open:
            self._close_search(restore=True)
        elif self.focused is not None and self.focused is not self.inbox:
            self.inbox.focus()
        elif self.inbox.marked:
            self.inbox.clear_marks()
        elif self.view.kind in ("search", "custom") and self._view_before_search is not None:
            self._close_search(restore=True)
        elif self.view.kind in ("search", "custom"):
            self.switch_view("all_open")

    def action_focus_next(self) -> None:
        self.focus_next()

    def action_focus_previous(self) -> None:
        self.focus_previous()

    def action_search(self) -> None:
        if self._view_before_search is None:
            self._view_before_search = self.view
        self.search_bar.open()

    def action_views(self) -> None:
        from widgets.screens.views import ViewSwitcher

        def chosen(view_id: str | None) -> None:
            if view_id:
                self.switch_view(view_id)

        self.host.push_screen(ViewSwitcher(self.views_list(), self.view_letters(), self.view.id), chosen)

    def action_toggle_customer(self) -> None:
        if self.single:  # the customer full screen, and back to where the agent was
            if self.pane == "customer":
                self._show_pane(self._pane_before_customer)
                self._focus_pane(self.pane)
            else:
                self._pane_before_customer = self.pane
                self._show_pane("customer")
                self._focus_pane("customer")
            return
        slot = self.query_one("#customer-slot")
        self._customer_override = not slot.display
        slot.display = self._customer_override

    def _focus_pane(self, pane: str) -> None:
        if pane == "list":
            self.inbox.focus()
        elif pane == "conversation":
            self._focus_conversation()
        elif self.customer is not None:
            self.customer.query_one("#cust-threads").focus()

    def action_accounts_status(self) -> None:
        accounts, note = self.host.sync_status()
        if not accounts:
            self.notify(note or "no accounts: add one to config.toml ([[accounts]]), or run with --demo",
                        title="Accounts", markup=False)
            return
        lines = [acc.line(self.host.now()) for acc in accounts]
        troubled = any(getattr(acc, "error", "") for acc in accounts)
        self.notify("\n".join(lines), title="Accounts", timeout=15, markup=False,
                    severity="warning" if troubled else "information")

    def action_promises(self) -> None:
        from console import sla

        try:
            text = sla.promises_text(self.host.config)
        except UserError as exc:
            self.notify(f"no response-time promises: {exc}", severity="warning", markup=False)
            return
        pane = self.conversation
        if pane is not None and pane.composing:
            pane.insert_text(text)
        else:
            self.notify(text, title="Our promises", timeout=10, markup=False)

    # ------------------------------------------------------------------ actions: the current conversation

    def _open_composer(self, action_id: str, kind: str) -> None:
        if not self.host.allowed(action_id):
            return
        tid = self._need_thread()
        if tid is not None and self.conversation is not None:
            self.conversation.open_composer(kind)

    def action_compose_reply(self) -> None:
        self._open_composer("compose_reply", "reply")

    def action_compose_note(self) -> None:
        self._open_composer("compose_note", "note")

    def _choose(self, screen, then) -> None:
        tid = self._need_thread()
        if tid is None:
            return

        def done(value) -> None:
            if value is not None:
                then(tid, value)

        screen.marked = len(self.inbox.marked)
        self.host.push_screen(screen, done)

    def action_choose_snooze(self) -> None:
        from widgets.screens.choosers import SnoozeChooser

        if self.host.allowed("choose_snooze"):
            self._choose(SnoozeChooser(), lambda tid, until: self.act("snooze", tid, until=until))

    def action_choose_assignee(self) -> None:
        from widgets.screens.choosers import AssignChooser

        if not self.host.allowed("choose_assignee"):
            return
        triage = self.host.section("triage")
        names = [a.name for a in triage.agents] if triage is not None else []
        names += [n for n in queries.assignees(self.host.db) if n not in names]
        self._choose(AssignChooser(names, self.host.config.agent_name),
                     lambda tid, who: self.act("assign", tid, to=who))

    def action_choose_tags(self) -> None:
        import json

        from widgets.screens.choosers import TagChooser

        if not self.host.allowed("choose_tags"):
            return
        row = queries.thread(self.host.db, self.settle()) if self.settle() is not None else None
        current = self._marked_tags() if self.inbox.marked else json.loads(row["tags"] or "[]") if row else []

        def apply(tid: int, change: dict) -> None:
            if change.get("add") or change.get("remove"):
                self.act("tag", tid, add=change.get("add", []), remove=change.get("remove", []))

        self._choose(TagChooser(current, queries.known_tags(self.host.db)), apply)

    def action_choose_priority(self) -> None:
        from widgets.screens.choosers import PriorityChooser

        if not self.host.allowed("choose_priority"):
            return
        row = queries.thread(self.host.db, self.settle()) if self.settle() is not None else None
        self._choose(PriorityChooser(int(row["priority"]) if row else 1),
                     lambda tid, level: self.act("priority", tid, level=level))

    def action_choose_macro(self) -> None:
        from console import macros
        from widgets.screens.choosers import MacroChooser

        if not self.host.allowed("choose_macro"):
            return
        names = macros.names(self.host.config)
        if not names:
            self.notify("No macros configured — add [[macros]] to config.toml", severity="warning", markup=False)
            return
        tid = self.settle()
        preview = (lambda name: macros.preview(self.host.db, self.host.config, tid, name, self.host.config.agent_name)) \
            if tid is not None else None
        self._choose(MacroChooser(names, preview), self.apply_macro)

    def apply_macro(self, thread_id: int, name: str) -> None:
        """Insert a macro: the action renders it into the draft; the open composer shows the draft.
        With marks, the macro goes into every marked conversation's draft (one bulk action)."""
        if self.inbox.marked:
            self.act("apply_macro", thread_id, name=name)
            return
        if self.host.perform("apply_macro", thread_id, name=name).ok:
            self.current = thread_id
            if self.conversation is not None:
                self.conversation.open_composer("reply")

    # The customer pane's keys (N, L, U, $) and the suggestions' numbers work from anywhere on the
    # screen, on the open conversation's customer: no Tab into the pane first.
    def _customer_pane(self, action_id: str) -> None:
        pane = self.customer
        if pane is not None and self.settle() is not None and pane.thread_id != self.current:
            pane.show(self.current)
        if pane is not None:
            getattr(pane, action_id)()

    def action_customer_note(self) -> None:
        self._customer_pane("customer_note")

    def action_link_identity(self) -> None:
        self._customer_pane("link_identity")

    def action_unlink_identity(self) -> None:
        self._customer_pane("unlink_identity")

    def action_refund(self) -> None:
        self._customer_pane("refund")

    def _suggestion(self, number: int) -> None:
        if self._need_thread() is not None and self.conversation is not None:
            self.conversation.insert_suggestion(number)

    def action_suggestion_1(self) -> None:
        self._suggestion(1)

    def action_suggestion_2(self) -> None:
        self._suggestion(2)

    def action_suggestion_3(self) -> None:
        self._suggestion(3)

    def perform_on_current(self, action_id: str) -> None:
        """A data-changing action of the registry, on the current conversation."""
        tid = self.settle()
        if tid is None and REGISTRY[action_id].needs_thread:
            self.notify("No conversation selected", severity="warning", markup=False)
            return
        self.act(action_id, tid)

    def owner_of(self, action_id: str):
        """The screen or pane whose ``action_<id>`` carries out ``action_id`` (None: none on this screen)."""
        for node in (self, self.conversation, self.customer):
            if node is not None and callable(getattr(node, f"action_{action_id}", None)):
                return node
        pane = self.conversation
        if pane is not None and pane.composing and callable(getattr(pane.composer, f"action_{action_id}", None)):
            return pane.composer
        return None
