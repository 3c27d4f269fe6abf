"""Which conversation a mail belongs to.

In order: a Message-ID it refers to (In-Reply-To, then References newest first)
that we already placed; else the root of its References chain (so a reply lands
with its conversation even when the parent has not been fetched yet); else the
same normalised subject with the same customer within :data:`SUBJECT_WINDOW`;
else a new conversation rooted at the mail itself. Thread ids are hashes of the
root Message-ID, so every agent on the mailbox computes the same ids.
"""

from __future__ import annotations

import hashlib

from providers.base import normalise_subject
from providers.imap.state import SyncState

SUBJECT_WINDOW = 30 * 86400.0  # a subject-only match must be this recent


def thread_id_for_root(message_id: str) -> str:
    return "t-" + hashlib.sha1(message_id.encode("utf-8", "replace")).hexdigest()[:20]


def subject_key(subject: str, customer: str) -> str | None:
    norm = normalise_subject(subject)
    if not norm or not customer:
        return None
    return f"{norm}|{customer.lower()}"


def place(state: SyncState, *, message_id: str, in_reply_to: list[str], references: list[str], subject: str,
          customer: str, when: float, hint: str = "") -> str:
    """The thread remote id for a mail; records the answer in ``state``."""
    known = state.thread_of.get(message_id)
    if known:
        return known
    thread = ""
    if hint and hint.startswith("t-"):
        thread = hint  # our own sent mail says where it belongs
    if not thread:
        for ref in [*in_reply_to, *reversed(references)]:
            if ref in state.thread_of:
                thread = state.thread_of[ref]
                break
    if not thread and (references or in_reply_to):
        thread = thread_id_for_root((references or in_reply_to)[0])
    key = subject_key(subject, customer)
    if not thread and key and key in state.by_subject:
        candidate = state.by_subject[key]
        info = state.threads.get(candidate)
        if info is not None and abs(when - info.last) <= SUBJECT_WINDOW:
            thread = candidate
    if not thread:
        thread = thread_id_for_root(message_id)
    state.thread_of[message_id] = thread
    if key:
        state.by_subject.setdefault(key, thread)
    return thread
