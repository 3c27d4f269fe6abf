"""Tone for a large batch, read on another core while the batch is being stored.

A first sync hands the service thousands of messages, and reading their tone was most of
the ingest thread's work, one message after another after the batch was stored. One
process holds one core however many threads it has, so a batch of ``BATCH`` inbound
messages or more is sent to worker processes the moment it arrives; the ingest thread
stores it meanwhile, then takes each tone that is ready. A tone is a pure function of the
text and meta as stored, and that pair is the key, so a message whose stored form differs
from what was sent ahead is simply read in place.

The workers run at a lower priority, so the screen keeps its core. A small batch (an
incremental sync) is read in place: a worker costs more than it saves. When workers
cannot start or die, tone is read in place and the sync goes on.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from console import tone

log = logging.getLogger(__name__)

BATCH = 64  # inbound messages in one batch before a worker is worth its start
CHUNK = 16  # messages sent to a worker at a time
MAX_WORKERS = 2  # on 2 cores: the batch's tone in two halves while the sync process stores it
NICENESS = 5
OWNER_CHECK = 1.0  # s between a worker's looks at whether the process that started it still runs

Stored = tuple[str, str]  # (text, meta as JSON), exactly as the cache holds them


class Ahead:
    """The tones of one batch being read in the workers."""

    def __init__(self, futures: dict[Stored, tuple[Future, int]], pool: "TonePool") -> None:
        self._futures = futures
        self._pool = pool

    def get(self, stored: Stored) -> tone.Tone | None:
        """The tone read ahead for this stored message, or None when it was not sent (or the worker died)."""
        found = self._futures.get(stored)
        if found is None:
            return None
        future, index = found
        try:
            return future.result()[index]
        except (BrokenProcessPool, OSError) as exc:
            self._pool.broke(exc)
            return None

    def cancel(self) -> None:
        """Drop what was not needed (messages the cache already had)."""
        for future, _ in self._futures.values():
            future.cancel()


class TonePool:
    def __init__(self) -> None:
        cores = os.cpu_count() or 1
        self.workers = min(MAX_WORKERS, cores) if cores > 1 else 0
        self._pool: ProcessPoolExecutor | None = None
        self._broken = self.workers < 1

    def worth(self, count: int) -> bool:
        """Whether a batch of ``count`` inbound messages goes to the workers."""
        return count >= BATCH and not self._broken

    def ahead(self, messages: dict[Stored, dict]) -> Ahead | None:
        """Start reading the tone of a large batch (stored form -> its meta, parsed); None for a small
        one (read it in place)."""
        if not self.worth(len(messages)):
            return None
        todo = list(messages.items())
        try:
            if self._pool is None:  # forkserver: a fresh process, not a fork of this threaded one
                self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("forkserver"),
                                                 initializer=_start_worker, initargs=(os.getpid(),))
            futures: dict[Stored, tuple[Future, int]] = {}
            for start in range(0, len(todo), CHUNK):
                chunk = todo[start:start + CHUNK]
                future = self._pool.submit(_classify, [(text, meta) for (text, _), meta in chunk])
                futures.update((stored, (future, i)) for i, (stored, _) in enumerate(chunk))
        except (BrokenProcessPool, OSError, RuntimeError, ValueError) as exc:  # no process to spare, shut down, no forkserver
            self.broke(exc)
            return None
        return Ahead(futures, self)

    def broke(self, exc: BaseException) -> None:
        if not self._broken:
            log.warning("tone workers stopped (%s); reading tone in the sync process", exc)
        self._broken = True
        self.close()

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)


def _start_worker(owner: int) -> None:
    try:
        os.nice(NICENESS)
    except OSError:
        pass  # a platform without nice: the same priority
    threading.Thread(target=_follow_owner, args=(owner,), daemon=True, name="owner").start()
    tone.classify("warm")  # the lexicon is read once per worker, before the first batch


def _follow_owner(owner: int) -> None:
    """End this worker once its owner is gone. A worker's parent is the forkserver, and each
    worker holds a copy of the job queue's write end, so a sync process killed with -9 (or by
    the OOM killer) would otherwise leave its workers and the forkserver waiting forever."""
    while True:
        time.sleep(OWNER_CHECK)
        try:
            os.kill(owner, 0)
        except (ProcessLookupError, PermissionError):  # gone (or the pid is another user's now)
            os._exit(0)


def _classify(chunk: list[tuple[str, dict]]) -> list[tone.Tone]:
    return [tone.classify(text, meta) for text, meta in chunk]
