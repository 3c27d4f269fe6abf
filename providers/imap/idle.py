"""IMAP IDLE on one folder, on a connection of its own (the adapter keeps one per folder read).

Runs in a worker thread: :meth:`FolderIdle.wait` blocks until the folder has news
(EXISTS, EXPUNGE, FETCH, VANISHED), the deadline passes, or ``stop`` is set,
checking ``stop`` every :data:`STEP` seconds so a cancelled watch ends promptly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from imapclient import IMAPClient

from providers.imap.connection import close_quietly

STEP = 1.0  # seconds between checks for cancellation while idling
RENEW = 25 * 60.0  # re-issue IDLE well before the 30-minute server timeout
NEWS = (b"EXISTS", b"EXPUNGE", b"FETCH", b"VANISHED")

Mark = tuple[int, int, int]  # (UIDNEXT, EXISTS, HIGHESTMODSEQ)


class NoIdle(Exception):
    """The server does not offer IDLE."""


class FolderIdle:
    def __init__(self, folder: str, connect: Callable[[], IMAPClient], shutdown: threading.Event) -> None:
        self.folder = folder
        self._connect = connect
        self._shutdown = shutdown  # the adapter is closing: end the wait and log out
        self._client: IMAPClient | None = None
        self.lock = threading.Lock()  # held while a wait runs; a cancelled one releases it within STEP

    def wait(self, deadline: float, stop: threading.Event, mark: Mark | None) -> bool:
        """True if the folder has news: already (its mark differs from ``mark``, taken at
        the last pull) or while idling. Raises NoIdle, or what the connection raised."""
        while not self.lock.acquire(timeout=STEP):  # an earlier, cancelled wait is finishing
            if stop.is_set() or time.monotonic() >= deadline:
                return False
        try:
            if self._client is None:
                client = self._connect()
                if b"IDLE" not in client.capabilities():
                    close_quietly(client)
                    raise NoIdle(self.folder)
                self._client = client
            try:
                info = self._client.select_folder(self.folder, readonly=True)
                now = (int(info.get(b"UIDNEXT", 0)), int(info.get(b"EXISTS", 0)), int(info.get(b"HIGHESTMODSEQ", 0)))
                if mark is not None and now != mark:
                    return True  # news arrived between the last pull and now
                return self._idle(deadline, stop)
            except BaseException:
                self.drop()
                raise
        finally:
            if self._shutdown.is_set():
                self.close()
            self.lock.release()

    def _idle(self, deadline: float, stop: threading.Event) -> bool:
        client = self._client
        client.idle()
        started = time.monotonic()
        news = False
        try:
            while not (stop.is_set() or self._shutdown.is_set()):
                now = time.monotonic()
                if now >= deadline:
                    break
                if now - started > RENEW:  # keepalive: end and restart IDLE
                    client.idle_done()
                    client.idle()
                    started = now
                for resp in client.idle_check(timeout=min(STEP, deadline - now)):
                    if len(resp) >= 2 and resp[1] in NEWS:
                        news = True
                if news:
                    break
        finally:
            client.idle_done()
        return news

    def drop(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.shutdown()
            except Exception:
                pass

    def close(self) -> None:
        client, self._client = self._client, None
        close_quietly(client)
