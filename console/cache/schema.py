"""Cache schema as forward migrations, applied in order by ``PRAGMA user_version``.

Rules for whoever adds a migration:
- append a new function to ``MIGRATIONS``; never edit one that has shipped;
- data that came from a provider can be pulled again; data born here (drafts,
  customer notes, outbox, audit, identity links, breaches) cannot: never drop or
  rewrite those tables destructively. ``tests/core/test_cache.py`` checks it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

# Tables whose rows are born locally and must survive every migration.
LOCAL_TABLES = ("drafts", "customer_notes", "outbox", "audit", "identity_links", "breaches", "triage_log",
                "draft_refunds", "article_uses", "undo_log", "team_presence")


_V1 = """
        CREATE TABLE accounts (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL UNIQUE,
            provider TEXT NOT NULL,
            channel TEXT NOT NULL,
            cursor TEXT,
            capabilities TEXT NOT NULL DEFAULT '[]',  -- what the adapter can push, written when it opens
            last_sync_at REAL
        );

        CREATE TABLE customers (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            name TEXT NOT NULL DEFAULT '',
            tags TEXT NOT NULL DEFAULT '[]',
            created_at REAL NOT NULL
        );

        -- One address on one channel. customer_id is the (re)linkable part.
        CREATE TABLE identities (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            channel TEXT NOT NULL,
            address TEXT NOT NULL,
            display_name TEXT NOT NULL DEFAULT '',
            followers INTEGER,
            verified INTEGER NOT NULL DEFAULT 0,
            url TEXT NOT NULL DEFAULT '',
            network TEXT NOT NULL DEFAULT '',
            email_key TEXT,
            phone_key TEXT,
            customer_id INTEGER NOT NULL REFERENCES customers(id),
            link_locked INTEGER NOT NULL DEFAULT 0, -- 1: linked or unlinked by hand, auto-linking leaves it alone
            UNIQUE (channel, address)
        );
        CREATE INDEX identities_customer ON identities(customer_id);
        CREATE INDEX identities_email ON identities(email_key) WHERE email_key IS NOT NULL;
        CREATE INDEX identities_phone ON identities(phone_key) WHERE phone_key IS NOT NULL;

        CREATE TABLE threads (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            account_id INTEGER NOT NULL REFERENCES accounts(id),
            remote_id TEXT NOT NULL,
            channel TEXT NOT NULL,
            channel_detail TEXT NOT NULL DEFAULT '',
            subject TEXT NOT NULL DEFAULT '',
            preview TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT 'open',
            priority INTEGER NOT NULL DEFAULT 1,
            queue TEXT NOT NULL DEFAULT '',
            assignee TEXT,
            tags TEXT NOT NULL DEFAULT '[]',
            tone TEXT NOT NULL DEFAULT '',
            sla_due_at REAL,
            sort_due REAL NOT NULL DEFAULT 9e15,  -- sla_due_at, or far future: default inbox order
            first_response_at REAL,
            snoozed_until REAL,
            last_message_at REAL NOT NULL,
            last_inbound_at REAL,
            unread INTEGER NOT NULL DEFAULT 0,
            customer_id INTEGER REFERENCES customers(id),
            identity_id INTEGER REFERENCES identities(id),
            rule TEXT NOT NULL DEFAULT '',       -- triage rules that set queue/priority, shown to the agent
            meta TEXT NOT NULL DEFAULT '{}',
            created_at REAL NOT NULL,
            UNIQUE (account_id, remote_id)
        );
        -- Covering-ish indexes for the inbox views (keyset on (sort_due, id) or (last_message_at, id)).
        CREATE INDEX threads_status_due ON threads(status, sort_due, id);
        CREATE INDEX threads_status_recent ON threads(status, last_message_at, id);
        CREATE INDEX threads_assignee_due ON threads(assignee, status, sort_due, id);
        CREATE INDEX threads_channel_due ON threads(channel, status, sort_due, id);
        CREATE INDEX threads_queue_due ON threads(queue, status, sort_due, id);
        CREATE INDEX threads_customer ON threads(customer_id, last_message_at);
        CREATE INDEX threads_counts ON threads(status, channel, queue, assignee);

        CREATE TABLE messages (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            thread_id INTEGER NOT NULL REFERENCES threads(id),
            account_id INTEGER NOT NULL REFERENCES accounts(id),
            remote_id TEXT,                      -- NULL while an outbound message is only queued
            direction TEXT NOT NULL,             -- inbound | outbound | note
            author_identity_id INTEGER REFERENCES identities(id),
            author TEXT NOT NULL DEFAULT '',
            sent_at REAL NOT NULL,
            text TEXT NOT NULL DEFAULT '',
            attachments TEXT NOT NULL DEFAULT '[]',
            meta TEXT NOT NULL DEFAULT '{}',
            state TEXT NOT NULL DEFAULT 'received', -- received | queued | sending | sent | failed | held | local (notes)
            outbox_id INTEGER,
            tone TEXT NOT NULL DEFAULT '',
            kind TEXT NOT NULL DEFAULT ''          -- question, complaint, praise, refund, auto_reply, bounce ...
        );
        CREATE UNIQUE INDEX messages_remote ON messages(account_id, remote_id) WHERE remote_id IS NOT NULL;
        CREATE INDEX messages_thread ON messages(thread_id, sent_at, id);
        CREATE INDEX messages_outbox ON messages(outbox_id) WHERE outbox_id IS NOT NULL;

        CREATE VIRTUAL TABLE messages_fts USING fts5(
            text, author, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2'
        );
        CREATE TRIGGER messages_ai AFTER INSERT ON messages BEGIN
            INSERT INTO messages_fts(rowid, text, author) VALUES (new.id, new.text, new.author);
        END;
        CREATE TRIGGER messages_ad AFTER DELETE ON messages BEGIN
            INSERT INTO messages_fts(messages_fts, rowid, text, author) VALUES ('delete', old.id, old.text, old.author);
        END;
        CREATE TRIGGER messages_au AFTER UPDATE OF text, author ON messages BEGIN
            INSERT INTO messages_fts(messages_fts, rowid, text, author) VALUES ('delete', old.id, old.text, old.author);
            INSERT INTO messages_fts(rowid, text, author) VALUES (new.id, new.text, new.author);
        END;

        CREATE TABLE orders (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            account_id INTEGER NOT NULL REFERENCES accounts(id),
            remote_id TEXT NOT NULL,
            customer_id INTEGER REFERENCES customers(id),
            identity_id INTEGER REFERENCES identities(id),
            number TEXT NOT NULL,
            placed_at REAL NOT NULL,
            total REAL NOT NULL,
            currency TEXT NOT NULL DEFAULT 'USD',
            status TEXT NOT NULL DEFAULT '',
            items TEXT NOT NULL DEFAULT '[]',
            UNIQUE (account_id, remote_id)
        );
        CREATE INDEX orders_customer ON orders(customer_id, placed_at);
        CREATE INDEX orders_identity ON orders(identity_id);

        CREATE TABLE articles (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            source TEXT NOT NULL,                -- account name, or 'folder'
            remote_id TEXT NOT NULL,
            title TEXT NOT NULL,
            body TEXT NOT NULL,
            tags TEXT NOT NULL DEFAULT '[]',
            url TEXT NOT NULL DEFAULT '',
            UNIQUE (source, remote_id)
        );
        CREATE VIRTUAL TABLE articles_fts USING fts5(
            title, body, tags, content='articles', content_rowid='id', tokenize='porter unicode61 remove_diacritics 2'
        );
        CREATE TRIGGER articles_ai AFTER INSERT ON articles BEGIN
            INSERT INTO articles_fts(rowid, title, body, tags) VALUES (new.id, new.title, new.body, new.tags);
        END;
        CREATE TRIGGER articles_ad AFTER DELETE ON articles BEGIN
            INSERT INTO articles_fts(articles_fts, rowid, title, body, tags) VALUES ('delete', old.id, old.title, old.body, old.tags);
        END;
        CREATE TRIGGER articles_au AFTER UPDATE ON articles BEGIN
            INSERT INTO articles_fts(articles_fts, rowid, title, body, tags) VALUES ('delete', old.id, old.title, old.body, old.tags);
            INSERT INTO articles_fts(rowid, title, body, tags) VALUES (new.id, new.title, new.body, new.tags);
        END;

        -- ---------------------------------------------------------- born locally: never dropped
        CREATE TABLE drafts (
            thread_id INTEGER PRIMARY KEY REFERENCES threads(id),
            kind TEXT NOT NULL DEFAULT 'reply',   -- reply | note
            text TEXT NOT NULL DEFAULT '',
            started_at REAL NOT NULL,
            updated_at REAL NOT NULL
        );

        CREATE TABLE customer_notes (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            customer_id INTEGER NOT NULL REFERENCES customers(id),
            author TEXT NOT NULL,
            text TEXT NOT NULL,
            created_at REAL NOT NULL
        );

        CREATE TABLE outbox (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            key TEXT NOT NULL UNIQUE,             -- idempotency key handed to the provider
            thread_id INTEGER NOT NULL REFERENCES threads(id),
            account_id INTEGER NOT NULL REFERENCES accounts(id),
            kind TEXT NOT NULL,
            text TEXT NOT NULL DEFAULT '',
            args TEXT NOT NULL DEFAULT '{}',
            state TEXT NOT NULL DEFAULT 'queued', -- queued | sending | sent | failed | held | local (nothing remote to do)
            attempts INTEGER NOT NULL DEFAULT 0,
            next_try_at REAL NOT NULL DEFAULT 0,
            last_error TEXT NOT NULL DEFAULT '',
            draft_started_at REAL,
            created_at REAL NOT NULL,
            sent_at REAL,
            remote_id TEXT,
            author TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX outbox_pending ON outbox(state, next_try_at, id);
        CREATE INDEX outbox_thread ON outbox(thread_id, id);

        CREATE TABLE audit (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at REAL NOT NULL,
            who TEXT NOT NULL,
            role TEXT NOT NULL,
            action TEXT NOT NULL,
            thread_id INTEGER,
            args TEXT NOT NULL DEFAULT '{}',
            result TEXT NOT NULL                  -- ok | refused: ... | error: ...
        );
        CREATE INDEX audit_at ON audit(at);

        CREATE TABLE identity_links (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            identity_id INTEGER NOT NULL REFERENCES identities(id),
            from_customer_id INTEGER,
            to_customer_id INTEGER NOT NULL,
            how TEXT NOT NULL,                    -- auto:email | auto:phone | auto:customer | manual | unlink
            at REAL NOT NULL,
            who TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX identity_links_identity ON identity_links(identity_id, id);

        CREATE TABLE breaches (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            thread_id INTEGER NOT NULL REFERENCES threads(id),
            kind TEXT NOT NULL,                   -- first_response | next_response
            due_at REAL NOT NULL,
            breached_at REAL NOT NULL,
            UNIQUE (thread_id, kind, due_at)
        );

        CREATE TABLE triage_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            thread_id INTEGER NOT NULL REFERENCES threads(id),
            message_id INTEGER,
            rule TEXT NOT NULL,
            effects TEXT NOT NULL,
            at REAL NOT NULL
        );
        CREATE INDEX triage_log_thread ON triage_log(thread_id);
        """


# v2: indexes in pure view order, so a view over several statuses walks them and
# stops after one page instead of sorting every open conversation (measured on
# 100k conversations: first page 149 ms -> under 1 ms).
_V2 = """
        CREATE INDEX threads_due ON threads(sort_due, id);
        CREATE INDEX threads_recent ON threads(last_message_at, id);
        """

# Outbox claims: several processes on one data folder (console, `sync`, `sync --once`, `do`)
# share the outbox. A process owns a row it pushes (claimed_by: host, pid and a random
# token) until lease_until, which it renews while the push runs; a row whose lease ran
# out belongs to a process that died and is re-checked against the remote before a retry.
_OUTBOX_CLAIMS = """
        ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
        ALTER TABLE outbox ADD COLUMN lease_until REAL NOT NULL DEFAULT 0;
        """

# The columns a refund and a dispute share: money that moves on one payment.
_ON_A_PAYMENT = """            id INTEGER PRIMARY KEY AUTOINCREMENT,
            account_id INTEGER NOT NULL REFERENCES accounts(id),
            remote_id TEXT NOT NULL,
            payment_remote_id TEXT NOT NULL,
            amount REAL NOT NULL,
            currency TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT '',
            reason TEXT NOT NULL DEFAULT '',
"""

# commerce: the customer's record from the company's own systems (its database, its
# payments). Payments and subscriptions hang on the identity they were made with, so
# they follow it when identities are linked or split; the customer is found through it.
_COMMERCE = f"""
        ALTER TABLE orders ADD COLUMN tracking_url TEXT NOT NULL DEFAULT '';
        CREATE INDEX orders_number ON orders(number COLLATE NOCASE);

        -- Free-text notes a company system keeps about a person, per identity and source.
        CREATE TABLE system_notes (
            identity_id INTEGER NOT NULL REFERENCES identities(id),
            account_id INTEGER NOT NULL REFERENCES accounts(id),
            note TEXT NOT NULL,
            PRIMARY KEY (identity_id, account_id)
        );

        CREATE TABLE payments (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            account_id INTEGER NOT NULL REFERENCES accounts(id),
            remote_id TEXT NOT NULL,               -- ch_… for Stripe
            identity_id INTEGER REFERENCES identities(id),
            intent TEXT NOT NULL DEFAULT '',       -- pi_…
            amount REAL NOT NULL,
            currency TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT '',
            refunded REAL NOT NULL DEFAULT 0,      -- as the remote side last said
            description TEXT NOT NULL DEFAULT '',
            order_number TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL,
            UNIQUE (account_id, remote_id)
        );
        CREATE INDEX payments_identity ON payments(identity_id, created_at);
        CREATE INDEX payments_remote ON payments(remote_id);
        CREATE INDEX payments_intent ON payments(intent);

        CREATE TABLE refunds (
{_ON_A_PAYMENT}            action_key TEXT,                       -- outbox key when made from the console
            created_at REAL NOT NULL,
            UNIQUE (account_id, remote_id)
        );
        CREATE INDEX refunds_payment ON refunds(account_id, payment_remote_id);

        CREATE TABLE disputes (
{_ON_A_PAYMENT}            created_at REAL NOT NULL,
            UNIQUE (account_id, remote_id)
        );
        CREATE INDEX disputes_payment ON disputes(account_id, payment_remote_id);

        CREATE TABLE subscriptions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            account_id INTEGER NOT NULL REFERENCES accounts(id),
            remote_id TEXT NOT NULL,
            identity_id INTEGER REFERENCES identities(id),
            plan TEXT NOT NULL DEFAULT '',
            status TEXT NOT NULL DEFAULT '',
            amount REAL NOT NULL DEFAULT 0,
            currency TEXT NOT NULL DEFAULT '',
            interval TEXT NOT NULL DEFAULT '',
            current_period_end REAL,
            created_at REAL NOT NULL,
            UNIQUE (account_id, remote_id)
        );
        CREATE INDEX subscriptions_identity ON subscriptions(identity_id);

        -- Born locally: a refund a macro offered, carried out when the draft's reply is sent.
        CREATE TABLE draft_refunds (
            thread_id INTEGER PRIMARY KEY REFERENCES threads(id),
            charge TEXT NOT NULL,
            amount REAL,                           -- NULL: all that is left on the charge
            reason TEXT NOT NULL DEFAULT '',
            created_at REAL NOT NULL
        );
        """

# Reply limits per kind of reply ("public", "direct") as the adapter stated them when the
# account was last opened (JSON; NULL: never opened, the adapter's defaults apply).
_REPLY_LIMITS = """
        ALTER TABLE accounts ADD COLUMN reply_limits TEXT;
        """


# Why an account last failed and what fixes it, so `switchboard accounts list` and the
# console can say why after the sync that met it has exited.
def _account_errors(db: sqlite3.Connection) -> None:
    db.execute("ALTER TABLE accounts ADD COLUMN last_error TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE accounts ADD COLUMN last_fix TEXT NOT NULL DEFAULT ''")
    db.execute("ALTER TABLE accounts ADD COLUMN last_error_at REAL")


def _tag_origins(db: sqlite3.Connection) -> None:
    """Where each conversation tag came from (console/cache/tags.py): tags a triage rule set are
    "triage"; the rest stay unmarked and count as the agent's until the provider reports them,
    so no tag is lost when the provider's next pull re-sends its own list."""
    import json

    db.execute("ALTER TABLE threads ADD COLUMN tag_origins TEXT NOT NULL DEFAULT '{}'")
    by_thread: dict[int, set[str]] = {}
    for thread_id, effects in db.execute("SELECT thread_id, effects FROM triage_log WHERE effects LIKE '%\"tags\"%'"):
        by_thread.setdefault(thread_id, set()).update(json.loads(effects).get("tags") or [])
    for thread_id, tags in db.execute("SELECT id, tags FROM threads WHERE tags != '[]'").fetchall():
        origins = {t: "triage" for t in json.loads(tags) if t in by_thread.get(thread_id, ())}
        if origins:
            db.execute("UPDATE threads SET tag_origins=? WHERE id=?", (json.dumps(origins), thread_id))


# Article insertions: which help article an agent put into a reply, and for which question,
# for the leaders' knowledge-gap figures. Born here: kept by every later migration.
_ARTICLE_USES = """
        CREATE TABLE article_uses (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            article_id INTEGER NOT NULL,
            thread_id INTEGER,
            at REAL NOT NULL
        );
        CREATE INDEX article_uses_article ON article_uses(article_id, at);
        """


# The agent's day (issue 12): macro effects wait on the draft until it is sent; a link
# keeps the customer it emptied so unlink can bring it back; the last change to a
# conversation can be undone; merged conversations point at the one they joined; people
# are found by an address prefix.
_WORKFLOW = """
        ALTER TABLE drafts ADD COLUMN effects TEXT NOT NULL DEFAULT '[]';  -- a macro's "on send" steps (JSON)
        ALTER TABLE identity_links ADD COLUMN from_customer TEXT;          -- the customer row the move emptied (JSON)
        ALTER TABLE identity_links ADD COLUMN undone_at REAL;
        ALTER TABLE threads ADD COLUMN merged_into INTEGER REFERENCES threads(id);
        CREATE INDEX threads_merged ON threads(merged_into) WHERE merged_into IS NOT NULL;
        CREATE INDEX identities_address ON identities(address COLLATE NOCASE);  -- from:, by prefix
        CREATE TABLE undo_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            at REAL NOT NULL,
            who TEXT NOT NULL,
            action TEXT NOT NULL,
            thread_ids TEXT NOT NULL,              -- JSON list
            before TEXT NOT NULL,                  -- JSON: thread id -> columns before the change
            outbox_ids TEXT NOT NULL DEFAULT '[]', -- rows the change queued: cancelled if still unsent
            undone_at REAL
        );
        CREATE INDEX undo_log_who ON undo_log(who, id);
        """


# The message index keeps 2- and 3-letter prefixes of every word, so search as you
# type ("re", "ord") reads one list instead of merging every word it starts (measured on
# 1M messages: 200-270 ms -> under 1 ms p50; the index grows ~30%, each new message costs
# ~60 µs more to index). Rebuilt from the messages table, nothing is lost.
_FTS_PREFIXES = """
        DROP TABLE messages_fts;
        CREATE VIRTUAL TABLE messages_fts USING fts5(
            text, author, content='messages', content_rowid='id', tokenize='unicode61 remove_diacritics 2',
            prefix='2 3'
        );
        INSERT INTO messages_fts(messages_fts) VALUES ('rebuild');
        """

# Team presence (issue 17): what the team's consoles announce in the team's Matrix rooms,
# one row per agent per room (expired rows are deleted, so it never grows with time), and
# the conversation keys of this cache's threads (console/team/keys.py), filled lazily as
# presence names them: derived, so it may be rebuilt at will.
_TEAM_PRESENCE = """
        CREATE TABLE team_presence (
            room TEXT NOT NULL,
            agent TEXT NOT NULL,                 -- Matrix user id (the entry's state key)
            name TEXT NOT NULL DEFAULT '',       -- the agent's name as their console sent it (cleaned)
            mode TEXT NOT NULL,                  -- online | viewing | replying
            conv_key TEXT NOT NULL DEFAULT '',
            thread_id INTEGER,                   -- this cache's conversation for conv_key (NULL: not here)
            since REAL,
            seen_at REAL NOT NULL,               -- server time of the write
            expires_at REAL NOT NULL,
            PRIMARY KEY (room, agent)
        );
        CREATE INDEX team_presence_thread ON team_presence(thread_id) WHERE thread_id IS NOT NULL;
        CREATE INDEX team_presence_expiry ON team_presence(expires_at);
        CREATE TABLE team_keys (
            conv_key TEXT PRIMARY KEY,
            thread_id INTEGER NOT NULL,
            account_id INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE team_key_scans (
            account_id INTEGER PRIMARY KEY,
            identity TEXT NOT NULL,
            scanned_to INTEGER NOT NULL DEFAULT 0  -- threads up to this id have their key in team_keys
        );
        """

# A start touches only what changed (issue 13: `sync --once` of a 100,000-message mailbox
# with one new message recomputed every open due time, ~2 s). A conversation's due time is
# marked stale by a trigger when a fact it depends on changes, and found by a partial index;
# the service keeps what it must remember between runs (the SLA settings it computed with,
# how far breaches were checked) in service_state; triage_log is read by index at start.
_SLA_FRESH = """
        ALTER TABLE threads ADD COLUMN sla_fresh INTEGER NOT NULL DEFAULT 0;  -- 0: due time to (re)compute
        UPDATE threads SET sla_fresh = 1 WHERE status != 'open' AND sla_due_at IS NULL AND sort_due >= 9e15;
        CREATE INDEX threads_sla_stale ON threads(id) WHERE sla_fresh = 0;
        CREATE TRIGGER threads_sla_stale AFTER UPDATE OF status, priority, channel, last_message_at, last_inbound_at
            ON threads WHEN NEW.sla_fresh = 1 AND (NEW.status IS NOT OLD.status OR NEW.priority IS NOT OLD.priority
              OR NEW.channel IS NOT OLD.channel OR NEW.last_message_at IS NOT OLD.last_message_at
              OR NEW.last_inbound_at IS NOT OLD.last_inbound_at)
        BEGIN
            UPDATE threads SET sla_fresh = 0 WHERE id = NEW.id;
        END;
        CREATE TABLE service_state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE INDEX triage_log_rule ON triage_log(rule, id);
        CREATE INDEX triage_log_sla ON triage_log(id) WHERE effects LIKE '%"sla"%';
        """

# An article may carry the other ways customers ask what it answers (a question-answering
# knowledge base's "alternative questions"): the ranking reads them as the article's own words.
_ARTICLE_QUESTIONS = """
        ALTER TABLE articles ADD COLUMN questions TEXT NOT NULL DEFAULT '[]';  -- JSON list of strings
        """

# Each migration is SQL run in one transaction with the version bump; a step that
# needs Python (data rewrites) may be a callable taking the connection instead.
MIGRATIONS: list[str | Callable[[sqlite3.Connection], None]] = [_V1, _V2, _OUTBOX_CLAIMS, _COMMERCE, _REPLY_LIMITS,
                                                               _account_errors, _tag_origins, _ARTICLE_USES, _WORKFLOW,
                                                               _FTS_PREFIXES, _TEAM_PRESENCE, _SLA_FRESH,
                                                               _ARTICLE_QUESTIONS]
SCHEMA_VERSION = len(MIGRATIONS)
