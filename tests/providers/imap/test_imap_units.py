"""Pure parts of the email adapter: keywords <-> team state, threading rules, the cursor."""

from __future__ import annotations

from providers.imap import keywords, threads
from providers.imap.send import build_reply, key_from_message_id, message_id_for_key
from providers.imap.state import FolderState, SyncState, ThreadInfo


def flags(when, inbound, *names):
    return keywords.MessageFlags(when=when, inbound=inbound, flags=tuple(names))


def test_keyword_names_are_imap_atoms():
    assert keywords.assigned("Jo Smith") == "$Assigned-Jo+20Smith"
    assert keywords.assigned("zoë (night) %*") == "$Assigned-zo+C3+AB+20+28night+29+20+25+2A"
    assert all(ch not in keywords.assigned('a(b)c{d} e%f*g"h\\i]j\x1b') for ch in '(){ %*"\\]\x1b')
    # Read back exactly, so "Zoë" and "Zoé" stay two people (older "_" keywords read as written).
    for name in ("Jo Smith", "zoë (night) %*", "Zoé", "a+b@x", "Jo_Smith"):
        assert keywords.owner_name(keywords.assigned(name)[len(keywords.ASSIGNED):]) == name
    assert keywords.tag("Refund Request") == "$Tag-refund_request"
    assert all(ch not in keywords.tag('a(b)c{d} e%f*g"h\\\\i]j') for ch in '(){ %*"\\\\]')


def test_closed_follows_the_newest_customer_message():
    closed = [flags(1, True, keywords.CLOSED, "\\\\Seen"), flags(2, False, keywords.CLOSED, "\\\\Seen")]
    assert keywords.team_state(closed).closed
    customer_wrote_again = [*closed, flags(3, True)]
    state = keywords.team_state(customer_wrote_again)
    assert not state.closed and state.unread


def test_assignee_and_tags_survive_a_new_message_without_keywords():
    msgs = [flags(1, True, "$Assigned-jo", "$Tag-vip", "\\\\Seen"), flags(2, True, "$Tag-refund")]
    state = keywords.team_state(msgs)
    assert state.assignee == "jo" and state.tags == ["refund", "vip"] and state.unread


def test_threading_prefers_known_parents_then_roots_then_subject():
    st = SyncState()
    root = threads.place(st, message_id="a@x", in_reply_to=[], references=[], subject="Help", customer="c@x",
                         when=0)
    st.threads[root] = ThreadInfo("Help", "c@x", "", 0)
    reply = threads.place(st, message_id="b@x", in_reply_to=["a@x"], references=[], subject="Re: Help",
                          customer="c@x", when=10)
    unknown_parent = threads.place(st, message_id="c@x", in_reply_to=["zz@x"], references=["a@x", "zz@x"],
                                   subject="whatever", customer="c@x", when=20)
    by_subject = threads.place(st, message_id="d@x", in_reply_to=[], references=[], subject="RE: help",
                               customer="C@X", when=30)
    other_customer = threads.place(st, message_id="e@x", in_reply_to=[], references=[], subject="Help",
                                   customer="someone@else", when=40)
    too_late = threads.place(st, message_id="f@x", in_reply_to=[], references=[], subject="Help", customer="c@x",
                             when=threads.SUBJECT_WINDOW + 100)
    assert reply == unknown_parent == by_subject == root
    assert other_customer != root and too_late != root


def test_cursor_round_trips():
    st = SyncState()
    st.folders["INBOX"] = FolderState(uidvalidity=7, uidnext=12, modseq=99, exists=3, backfill_below=4,
                                      since="2026-08-25")
    st.put_uid("INBOX", 5, ("a@x", 100, 1))
    st.thread_of["a@x"] = "t-1"
    st.threads["t-1"] = ThreadInfo("Help", "c@x", "Casey", 100.0, True, "jo", ["vip"])
    st.restate = ["t-1"]
    again = SyncState.loads(st.dumps())
    assert again.dumps() == st.dumps()
    assert again.uids_of_thread("t-1") == {"INBOX": [5]}
    assert SyncState.loads('{"v": 0}').folders == {} and SyncState.loads("garbage").folders == {}


def test_our_message_ids_carry_the_outbox_key():
    for key in ("k/1 2", "0f3a9c", "ключ"):
        assert key_from_message_id(message_id_for_key(key, "example.com")) == key
    assert key_from_message_id("abc@customer.example") is None
    msg, made = build_reply(key="abc", from_name="Support", from_addr="s@example.com", to_addr="c@x.org",
                            to_name="Casey", subject="Re: Re: Help", text="Hi", parent_id="p@x",
                            parent_refs=["r@x"], thread_id="t-1")
    assert made == "sb-abc@example.com" and key_from_message_id(made) == "abc"
    assert msg["Subject"] == "Re: Help" and msg["In-Reply-To"] == "<p@x>" and msg["References"] == "<r@x> <p@x>"


def test_prune_forgets_only_quiet_conversations():
    st = SyncState()
    st.folders["INBOX"] = FolderState(uidvalidity=1, uidnext=3)
    st.put_uid("INBOX", 1, ("old@x", 10, 1))
    st.put_uid("INBOX", 2, ("new@x", 1000, 1))
    st.thread_of["old@x"], st.thread_of["new@x"] = "t-old", "t-new"
    st.threads["t-old"], st.threads["t-new"] = ThreadInfo("Old", "c@x", "", 10.0), ThreadInfo("New", "c@x", "", 1000.0)
    st.by_subject["old|c@x"], st.by_subject["new|c@x"] = "t-old", "t-new"
    st.prune(before=500)
    assert st.folder_uids("INBOX") == [2] and st.known() == 1
    assert st.thread_of.as_dict() == {"new@x": "t-new"} and set(st.threads.as_dict()) == {"t-new"}
    assert st.by_subject.as_dict() == {"new|c@x": "t-new"}


def test_a_parser_failure_still_yields_a_message(monkeypatch):
    from providers.imap import parse

    def explode(*a, **k):
        raise RuntimeError("boom")

    monkeypatch.setattr(parse, "_walk", explode)
    monkeypatch.setattr(parse, "_repair_boundary", explode)
    got = parse.parse_mail(b"Subject: x\r\n\r\nstill readable body\r\n")
    assert got.text == "still readable body" and "could not be parsed" in got.warnings[0]


def test_fetch_responses_are_read_whatever_the_item_order_and_unsolicited_updates_are_skipped():
    from datetime import datetime, timezone

    from providers.imap.fetch import parse_fetch_data

    data = [
        (b'1 (UID 7 RFC822.SIZE 11 INTERNALDATE " 1-Dec-2026 10:00:00 +0100" BODY[]<0> {11}', b"Subject: a\r\n"),
        b")",
        (b"2 (BODY[]<0> {5}", b"hello"),
        b' UID 9 RFC822.SIZE 5000000 INTERNALDATE "02-Dec-2026 23:30:00 -0500")',
        b"1 (FLAGS (\\Seen) UID 7)",  # an unsolicited flag update for a message already read
        b"3 (FLAGS () UID 12)",  # and one for a message not asked for: no body, skipped by the caller
    ]
    out = parse_fetch_data(data)
    assert out[7].raw == b"Subject: a\r\n" and out[7].size == 11
    assert out[7].internal == datetime(2026, 12, 1, 9, 0, tzinfo=timezone.utc)
    assert out[9].raw == b"hello" and out[9].size == 5000000, "items after the literal belong to it"
    assert out[9].internal == datetime(2026, 12, 3, 4, 30, tzinfo=timezone.utc)
    assert out[12].raw == b""


def _two_pulls(path):
    from providers.imap.store import MapStore

    state = SyncState.load(MapStore(path), None)
    state.folders["INBOX"] = FolderState(uidvalidity=7, uidnext=3)
    state.put_uid("INBOX", 1, ("a@x", 100, 1))
    state.thread_of["a@x"] = "t-a"
    state.threads["t-a"] = ThreadInfo("Order", "c@x", "C", 100.0)
    first = state.save()
    state.put_uid("INBOX", 2, ("b@x", 200, 1))
    assert state.remove_uids("INBOX", [1]) == [(1, ("a@x", 100, 1))]
    state.thread_of["b@x"] = "t-a"
    state.folders["INBOX"].uidnext = 4
    second = state.save()
    state.store.close()
    return first, second


def test_the_store_keeps_the_maps_out_of_the_cursor_and_undoes_what_the_core_never_committed(tmp_path):
    from providers.imap.store import MapStore

    first, second = _two_pulls(tmp_path / "a.sqlite3")
    assert len(second) < 300 and "a@x" not in second, "the cursor holds where the sync stands, not the maps"
    again = SyncState.load(MapStore(tmp_path / "a.sqlite3"), second)
    assert again.folder_uids("INBOX") == [2] and again.folders["INBOX"].uidnext == 4 and again.known() == 1
    assert again.thread_of.get("a@x") == again.thread_of.get("b@x") == "t-a"
    assert again.threads["t-a"].subject == "Order"
    assert again.uid_entry("INBOX", 2) == ("b@x", 200, 1) and again.uid_entry("INBOX", 1) is None

    # The core committed only the first page (a crash after the adapter wrote the second): back to it.
    first, second = _two_pulls(tmp_path / "b.sqlite3")
    older = SyncState.load(MapStore(tmp_path / "b.sqlite3"), first)
    assert older.folder_uids("INBOX") == [1] and "b@x" not in older.thread_of and older.known() == 1
    assert older.find("a@x", ["INBOX"]) == ("INBOX", 1)
    assert SyncState.load(MapStore(tmp_path / "b.sqlite3"), second).folders == {}, \
        "a cursor the store has not reached: start over"
    first, second = _two_pulls(tmp_path / "c.sqlite3")
    for p in tmp_path.glob("c.sqlite3*"):
        p.unlink()
    assert SyncState.load(MapStore(tmp_path / "c.sqlite3"), second).folders == {}, "store gone: the sync starts over"


def test_a_new_uidvalidity_drops_the_old_numbering_from_the_store(tmp_path):
    from providers.imap.store import MapStore

    state = SyncState.load(MapStore(tmp_path / "maps.sqlite3"), None)
    state.folders["INBOX"] = FolderState(uidvalidity=1, uidnext=3)
    state.put_uid("INBOX", 1, ("a@x", 100, 1))
    state.save()
    state.folders["INBOX"] = FolderState(uidvalidity=2, uidnext=2)
    assert state.uid_entry("INBOX", 1) is None, "old UIDs mean nothing in the new numbering"
    state.put_uid("INBOX", 1, ("b@x", 100, 1))
    state.save()
    assert state.known() == 1 and state.find("a@x", ["INBOX"]) is None and state.find("b@x", ["INBOX"]) == ("INBOX", 1)
