"""One customer across channels: identities, automatic links, manual link/unlink.

An identity is one address on one channel. Each belongs to exactly one customer.
New identities join an existing customer automatically when their email address or
phone number matches exactly (case and punctuation folded), or when a commerce /
helpdesk customer record lists them together. A person can link or unlink by hand;
such identities are "locked" and automatic linking leaves them alone. Every move is
recorded in ``identity_links`` so it can be explained and undone.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time

from providers.records import Channel, Customer, Identity

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def email_key(identity: Identity) -> str | None:
    if identity.channel == Channel.EMAIL or _EMAIL.match(identity.address or ""):
        addr = (identity.address or "").strip().lower()
        return addr if _EMAIL.match(addr) else None
    return None


def phone_key(identity: Identity) -> str | None:
    """Digits of a phone number with at least 7 of them, '+' kept: '+1 (555) 010-2000' -> '+15550102000'."""
    raw = identity.phone or ""
    if not raw and re.fullmatch(r"\+?[\d\s().-]{7,}", identity.address or ""):
        raw = identity.address
    digits = re.sub(r"\D", "", raw)
    if len(digits) < 7:
        return None
    return "+" + digits


def upsert_identity(db: sqlite3.Connection, ident: Identity, *, fallback_name: str = "") -> int:
    """Insert or refresh an identity; return its id. New identities get a customer
    (an existing one by email/phone match, else a new one)."""
    # Provider text is hostile: names and addresses are stored cleaned, like message text.
    from dataclasses import replace as _replace

    from providers.text import clean_line

    ident = _replace(ident, address=clean_line(ident.address), display_name=clean_line(ident.display_name),
                     url=clean_line(ident.url), network=clean_line(ident.network), phone=clean_line(ident.phone))
    fallback_name = clean_line(fallback_name)
    address = ident.address.strip()
    channel = ident.channel.value if isinstance(ident.channel, Channel) else str(ident.channel)
    row = db.execute("SELECT id FROM identities WHERE channel=? AND address=?", (channel, address)).fetchone()
    ekey, pkey = email_key(ident), phone_key(ident)
    if row:
        db.execute(
            """UPDATE identities SET
                 display_name = CASE WHEN ?1 != '' THEN ?1 ELSE display_name END,
                 followers = COALESCE(?2, followers),
                 verified = ?3,
                 url = CASE WHEN ?4 != '' THEN ?4 ELSE url END,
                 network = CASE WHEN ?5 != '' THEN ?5 ELSE network END,
                 email_key = COALESCE(email_key, ?6),
                 phone_key = COALESCE(phone_key, ?7)
               WHERE id = ?8""",
            (ident.display_name, ident.followers, int(ident.verified), ident.url, ident.network, ekey, pkey, row[0]),
        )
        return row[0]
    customer_id, how = _match_customer(db, ekey, pkey)
    if customer_id is None:
        name = ident.display_name or fallback_name or address
        customer_id = db.execute(
            "INSERT INTO customers(name, created_at) VALUES (?, ?)", (name, time.time())
        ).lastrowid
        how = "new"
    cur = db.execute(
        """INSERT INTO identities(channel, address, display_name, followers, verified, url, network,
                                  email_key, phone_key, customer_id)
           VALUES (?,?,?,?,?,?,?,?,?,?)""",
        (channel, address, ident.display_name, ident.followers, int(ident.verified), ident.url, ident.network,
         ekey, pkey, customer_id),
    )
    if how != "new":
        _log(db, cur.lastrowid, None, customer_id, how)
    return cur.lastrowid


def _match_customer(db: sqlite3.Connection, ekey: str | None, pkey: str | None) -> tuple[int | None, str]:
    if ekey:
        row = db.execute("SELECT customer_id FROM identities WHERE email_key=? ORDER BY id LIMIT 1", (ekey,)).fetchone()
        if row:
            return row[0], "auto:email"
    if pkey:
        row = db.execute("SELECT customer_id FROM identities WHERE phone_key=? ORDER BY id LIMIT 1", (pkey,)).fetchone()
        if row:
            return row[0], "auto:phone"
    return None, ""


def upsert_customer(db: sqlite3.Connection, customer: Customer) -> int:
    """A commerce/helpdesk customer record: all its identities belong to one customer."""
    from providers.text import clean_line

    ids = [upsert_identity(db, ident, fallback_name=customer.name) for ident in customer.identities]
    if not ids:
        return 0
    target = db.execute("SELECT customer_id FROM identities WHERE id=?", (ids[0],)).fetchone()[0]
    if customer.name:
        db.execute("UPDATE customers SET name=? WHERE id=? AND (name='' OR name LIKE '%@%')", (clean_line(customer.name), target))
    if customer.tags:
        db.execute("UPDATE customers SET tags=? WHERE id=?", (json.dumps(sorted(set(customer.tags))), target))
    for ident_id in ids[1:]:
        row = db.execute("SELECT customer_id, link_locked FROM identities WHERE id=?", (ident_id,)).fetchone()
        if row["customer_id"] != target and not row["link_locked"]:
            _move(db, ident_id, row["customer_id"], target, "auto:customer")
    return target


def link(db: sqlite3.Connection, identity_id: int, customer_id: int, who: str = "") -> None:
    """Move one identity to ``customer_id`` by hand (locked against auto-linking)."""
    row = db.execute("SELECT customer_id FROM identities WHERE id=?", (identity_id,)).fetchone()
    if row is None:
        raise LookupError(f"no identity {identity_id}")
    if not db.execute("SELECT 1 FROM customers WHERE id=?", (customer_id,)).fetchone():
        raise LookupError(f"no customer {customer_id}")
    if row[0] == customer_id:
        raise ValueError("that identity already belongs to this customer")
    _move(db, identity_id, row[0], customer_id, "manual", who=who, lock=True)


def unlink(db: sqlite3.Connection, identity_id: int, who: str = "") -> int:
    """Undo the identity's last link: it goes back to the customer it came from (brought
    back if the link had emptied it), as locked as it was. An identity that never moved
    is split off into a customer of its own. Returns the customer it now belongs to."""
    row = db.execute("SELECT customer_id, display_name, address FROM identities WHERE id=?", (identity_id,)).fetchone()
    if row is None:
        raise LookupError(f"no identity {identity_id}")
    last = db.execute(
        """SELECT * FROM identity_links WHERE identity_id=? AND undone_at IS NULL AND how != 'unlink'
           AND from_customer_id IS NOT NULL AND to_customer_id=? ORDER BY id DESC LIMIT 1""",
        (identity_id, row["customer_id"])).fetchone()
    if last is None:
        back_to = db.execute(
            "INSERT INTO customers(name, created_at) VALUES (?, ?)", (row["display_name"] or row["address"], time.time())
        ).lastrowid
        _move(db, identity_id, row["customer_id"], back_to, "unlink", who=who, lock=True)
        return back_to
    before = json.loads(last["from_customer"] or "{}")
    back_to = last["from_customer_id"]
    emptied = before.get("row")
    if emptied and not db.execute("SELECT 1 FROM customers WHERE id=?", (back_to,)).fetchone():
        db.execute("INSERT INTO customers(id, name, tags, created_at) VALUES (?,?,?,?)",
                   (back_to, emptied["name"], emptied["tags"], emptied["created_at"]))
    _move(db, identity_id, row["customer_id"], back_to, "unlink", who=who)
    db.execute("UPDATE identities SET link_locked=? WHERE id=?", (int(before.get("locked", 1)), identity_id))
    db.execute("UPDATE identity_links SET undone_at=? WHERE id=?", (time.time(), last["id"]))
    return back_to


def _move(db, identity_id, from_id, to_id, how, who="", lock=False) -> None:
    locked = db.execute("SELECT link_locked FROM identities WHERE id=?", (identity_id,)).fetchone()[0]
    emptied = db.execute("SELECT name, tags, created_at FROM customers WHERE id=?", (from_id,)).fetchone() \
        if from_id is not None else None
    db.execute(
        "UPDATE identities SET customer_id=?, link_locked=MAX(link_locked, ?) WHERE id=?",
        (to_id, int(lock), identity_id),
    )
    # Conversations follow the identity they were opened by; orders likewise.
    db.execute("UPDATE threads SET customer_id=? WHERE identity_id=?", (to_id, identity_id))
    db.execute("UPDATE orders SET customer_id=? WHERE identity_id=?", (to_id, identity_id))
    log_id = _log(db, identity_id, from_id, to_id, how, who)
    if from_id is not None and from_id != to_id:
        dropped = _drop_if_empty(db, from_id, into=to_id)
        db.execute("UPDATE identity_links SET from_customer=? WHERE id=?", (json.dumps(
            {"locked": locked, "row": dict(emptied) if dropped and emptied else None}), log_id))


def link_preview(db: sqlite3.Connection, identity_id: int, customer_id: int) -> dict:
    """Both sides of a link, for the confirmation dialog: the identity, the customer it
    leaves (and whether the link empties it) and the customer it joins."""
    ident = db.execute("SELECT * FROM identities WHERE id=?", (identity_id,)).fetchone()
    if ident is None:
        raise LookupError(f"no identity {identity_id}")
    sides = {}
    for side, cid in (("from", ident["customer_id"]), ("to", customer_id)):
        cust = db.execute("SELECT * FROM customers WHERE id=?", (cid,)).fetchone()
        if cust is None:
            raise LookupError(f"no customer {cid}")
        sides[side] = {
            "id": cid, "name": cust["name"],
            "identities": [f"{r['channel']} {r['address']}" for r in db.execute(
                "SELECT channel, address FROM identities WHERE customer_id=? ORDER BY channel, id", (cid,))],
            "conversations": db.execute("SELECT COUNT(*) FROM threads WHERE customer_id=?", (cid,)).fetchone()[0],
        }
    sides["identity"] = {"id": identity_id, "channel": ident["channel"], "address": ident["address"],
                         "display_name": ident["display_name"]}
    sides["empties_from"] = sides["from"]["identities"] == [f"{ident['channel']} {ident['address']}"]
    return sides


def link_history(db: sqlite3.Connection, customer_id: int) -> list[dict]:
    """Every move into or out of this customer, newest first: when, who, how, which identity,
    from and to whom (names as they are now, or as they were for a customer since removed)."""
    rows = db.execute(
        """SELECT l.*, i.channel, i.address, cf.name AS from_name, ct.name AS to_name
           FROM identity_links l JOIN identities i ON i.id = l.identity_id
           LEFT JOIN customers cf ON cf.id = l.from_customer_id LEFT JOIN customers ct ON ct.id = l.to_customer_id
           WHERE l.from_customer_id=?1 OR l.to_customer_id=?1
              OR l.identity_id IN (SELECT id FROM identities WHERE customer_id=?1)
           ORDER BY l.id DESC""", (customer_id,)).fetchall()
    out = []
    for r in rows:
        gone = (json.loads(r["from_customer"] or "{}").get("row") or {}).get("name")
        out.append({"at": r["at"], "who": r["who"], "how": r["how"], "identity_id": r["identity_id"],
                    "identity": f"{r['channel']} {r['address']}", "from_customer_id": r["from_customer_id"],
                    "from_name": r["from_name"] or gone or "", "to_customer_id": r["to_customer_id"],
                    "to_name": r["to_name"] or "", "undone": r["undone_at"] is not None})
    return out


def _drop_if_empty(db, customer_id: int, into: int) -> bool:
    """A customer left with no identity, conversation, order or note was only a
    placeholder: fold its tags into the one that absorbed it and remove it."""
    for table in ("identities", "threads", "orders", "customer_notes"):
        if db.execute(f"SELECT 1 FROM {table} WHERE customer_id=? LIMIT 1", (customer_id,)).fetchone():
            return False
    old = db.execute("SELECT tags FROM customers WHERE id=?", (customer_id,)).fetchone()
    new = db.execute("SELECT tags FROM customers WHERE id=?", (into,)).fetchone()
    if old is not None and new is not None and old[0] not in ("", "[]"):
        merged = sorted(set(json.loads(old[0])) | set(json.loads(new[0] or "[]")))
        db.execute("UPDATE customers SET tags=? WHERE id=?", (json.dumps(merged), into))
    db.execute("DELETE FROM customers WHERE id=?", (customer_id,))
    return True


def _log(db, identity_id, from_id, to_id, how, who="") -> int:
    return db.execute(
        "INSERT INTO identity_links(identity_id, from_customer_id, to_customer_id, how, at, who) VALUES (?,?,?,?,?,?)",
        (identity_id, from_id, to_id, how, time.time(), who),
    ).lastrowid


def customer_history(db: sqlite3.Connection, customer_id: int) -> dict:
    """Everything known about a customer, for the history pane and export."""
    cust = db.execute("SELECT * FROM customers WHERE id=?", (customer_id,)).fetchone()
    if cust is None:
        raise LookupError(f"no customer {customer_id}")
    return {
        "customer": dict(cust),
        "identities": [dict(r) for r in db.execute(
            "SELECT * FROM identities WHERE customer_id=? ORDER BY channel, id", (customer_id,))],
        "threads": [dict(r) for r in db.execute(
            """SELECT id, channel, channel_detail, subject, status, last_message_at, preview
               FROM threads WHERE customer_id=? ORDER BY last_message_at DESC""", (customer_id,))],
        "orders": [dict(r) for r in db.execute(
            "SELECT * FROM orders WHERE customer_id=? ORDER BY placed_at DESC", (customer_id,))],
        "notes": [dict(r) for r in db.execute(
            "SELECT * FROM customer_notes WHERE customer_id=? ORDER BY created_at DESC", (customer_id,))],
    }
