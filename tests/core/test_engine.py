"""The sync engine: accounts independent of each other, states for the status bar, backoff."""

from __future__ import annotations

import asyncio
import time

from console import actions
from console.config import AccountSettings, Config
from console.engine import Engine
from providers.base import AccountConfig, AuthError, TransientError
from tests.support.remote_double import RemoteDouble


def config(*names: str, interval: float = 1.0) -> Config:
    return Config(accounts=[AccountSettings(n, "double", {}, poll_interval=interval) for n in names])


async def wait_until(predicate, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.01)
    return False


async def test_a_hanging_account_never_delays_the_others(db):
    slow = RemoteDouble(AccountConfig("slow", "double"), hang=True)
    fast = RemoteDouble(AccountConfig("fast", "double"), threads=4)
    changed: list[set[int]] = []
    engine = Engine(db, config("slow", "fast"), providers={"slow": slow, "fast": fast}, on_change=changed.append)
    await engine.start()
    try:
        assert await wait_until(lambda: engine.states["fast"].state == "online")
        assert db.execute("SELECT COUNT(*) FROM threads").fetchone()[0] == 4
        assert engine.states["slow"].state == "syncing"
        assert any(changed), "the screen was told about the new conversations"
    finally:
        await engine.stop()


async def test_auth_failure_and_offline_are_reported_with_a_retry_time(db):
    bad = RemoteDouble(AccountConfig("bad", "double"))
    bad.fail_next = [AuthError("login refused for agent@example.com", fix="run: switchboard accounts add bad")]
    flaky = RemoteDouble(AccountConfig("flaky", "double"))
    flaky.fail_next = [TransientError("connection refused", retry_after=0.2)]
    engine = Engine(db, config("bad", "flaky"), providers={"bad": bad, "flaky": flaky})
    await engine.start()
    try:
        assert await wait_until(lambda: engine.states["bad"].state == "auth_failed")
        st = engine.states["bad"]
        assert "accounts add bad" in st.detail and st.next_try_at > time.time() + 60
        assert "auth failed" in st.line() and "retry in" in st.line()
        # The flaky one goes offline, then recovers by itself after retry_after.
        assert await wait_until(lambda: engine.states["flaky"].state == "online", timeout=5)
        assert db.execute("SELECT COUNT(*) FROM threads t JOIN accounts a ON a.id=t.account_id WHERE a.name='flaky'"
                          ).fetchone()[0] == 3
    finally:
        await engine.stop()


async def test_a_queued_reply_wakes_the_account_and_goes_out_without_waiting_for_the_poll(db):
    remote = RemoteDouble(AccountConfig("mail", "double"))
    engine = Engine(db, config("mail", interval=3600), providers={"mail": remote})
    await engine.start()
    try:
        assert await wait_until(lambda: engine.states["mail"].state == "online")
        tid = db.execute("SELECT id FROM threads LIMIT 1").fetchone()[0]
        assert actions.perform(actions.Context(db=db, agent="Sam"), "reply", tid, text="On its way").ok
        engine.wake_outbox()
        assert await wait_until(lambda: len(remote.delivered) == 1, timeout=3)
        assert await wait_until(lambda: db.execute("SELECT state FROM outbox").fetchone()[0] == "sent")
    finally:
        await engine.stop()


async def test_read_only_engine_opens_read_only_and_sends_nothing(db):
    remote = RemoteDouble(AccountConfig("mail", "double"))
    engine = Engine(db, config("mail"), providers={"mail": remote}, read_only=True)
    # A reply queued earlier by an agent must not be sent by a supervisor's console.
    db.execute("INSERT INTO accounts(name, provider, channel) VALUES ('mail', 'double', 'email')")
    await engine.run_once()
    tid = db.execute("SELECT id FROM threads LIMIT 1").fetchone()[0]
    actions.perform(actions.Context(db=db, agent="Sam"), "reply", tid, text="queued earlier")
    await engine.run_once()
    assert remote.read_only is True and remote.attempts == 0
    assert db.execute("SELECT state FROM outbox").fetchone()[0] == "queued"


async def test_an_unknown_provider_is_an_error_state_not_a_crash(db):
    cfg = Config(accounts=[AccountSettings("odd", "carrier-pigeon", {})])
    engine = Engine(db, cfg)
    states = await engine.run_once()
    assert states["odd"].state == "error"
    assert "unknown provider 'carrier-pigeon'" in states["odd"].detail


class Crash(BaseException):
    """The process dying in the middle of a batch (not an error anything catches)."""


async def test_a_batch_and_its_triage_are_one_transaction_written_off_the_event_loop(db):
    """Killed between storing a batch and triaging it, nothing is half done: the batch (and its
    cursor) are not stored, so the next pull brings it again and it is triaged then."""
    import threading

    seen = []

    class Triage:
        fail = True

        def process(self, conn, result, ahead):
            seen.append(threading.current_thread() is threading.main_thread())
            if self.fail:
                raise Crash()

        def foresee(self, batch):
            return None

        def start(self, conn):
            pass

        def close(self):
            pass

        def tick(self, conn, now):
            pass

    service = Triage()
    remote = RemoteDouble(AccountConfig("mail", "double"), threads=3)
    engine = Engine(db, config("mail"), providers={"mail": remote}, service=service)
    try:
        try:
            await engine.run_once()
        except Crash:
            pass
        assert seen == [False]  # written in the engine's worker thread, not on the loop
        assert db.execute("SELECT COUNT(*) FROM threads").fetchone()[0] == 0
        cursor = db.execute("SELECT cursor FROM accounts WHERE name='mail'").fetchone()[0]
        assert cursor is None
        service.fail = False
        await engine.run_once()
        assert db.execute("SELECT COUNT(*) FROM threads").fetchone()[0] == 3
        assert seen == [False, False]
    finally:
        await engine.stop()


async def test_a_triage_bug_never_stops_the_sync_the_batch_is_stored_untriaged(db, caplog):
    class Broken:
        def process(self, conn, result, ahead):
            raise ValueError("a rule that trips")

        def foresee(self, batch):
            return None

        def start(self, conn):
            pass

        def close(self):
            pass

        def tick(self, conn, now):
            pass

    remote = RemoteDouble(AccountConfig("mail", "double"), threads=2)
    engine = Engine(db, config("mail"), providers={"mail": remote}, service=Broken())
    try:
        states = await engine.run_once()
        assert states["mail"].state == "online"
        assert db.execute("SELECT COUNT(*) FROM threads").fetchone()[0] == 2
        assert "triage failed" in caplog.text
    finally:
        await engine.stop()
