"""Benchmark: what team presence costs the homeserver, on a real Synapse.

    .venv/bin/python -m bench.bench_presence [--agents 50]

Starts a private Synapse on 127.0.0.1 (needs tests/support/servers/install_synapse.sh),
makes a team room the way the README says (members may write com.switchboard.presence)
with ``--agents`` members, and has every agent publish its entry through the real
transport (providers/matrix/presence.py) with the real content (console/team/content.py).
Prints: the time of one state write (p50, p95), the bytes one entry adds to another
console's incremental /sync, the first /sync of a console joining the team (all entries),
and from those the cost of 1,000 agents with the default heartbeat and rate limit.
With ``--conversations N`` it also times this console's side on a cache of N
conversations: the first lookup of a key (which indexes every conversation's key once,
in the engine's writer thread) and the lookups after it.
Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from console.team.content import encode  # noqa: E402
from console.team.keys import conversation_key  # noqa: E402
from console.team.settings import HEARTBEAT, MIN_INTERVAL, TTL  # noqa: E402
from providers.base import AccountConfig, KeptSecrets  # noqa: E402
from providers.matrix.presence import MatrixTeam, sync_filter  # noqa: E402
from tests.support.servers.synapse import API, Folders, _Running  # noqa: E402
from tests.support.team import make_team_room  # noqa: E402


async def raw_sync(url: str, token: str, room: str, since: str | None) -> tuple[int, dict]:
    params = {"filter": sync_filter([room]), "timeout": "0"}
    if since:
        params["since"] = since
    async with httpx.AsyncClient(base_url=url, timeout=60) as http:
        resp = await http.get(f"{API}/sync", params=params, headers={"Authorization": f"Bearer {token}"})
        resp.raise_for_status()
        return len(resp.content), resp.json()


async def run(n: int, root: Path) -> None:
    server = _Running.start(Folders(root))
    try:
        owner = await server.register()
        agents = [await server.register() for _ in range(n)]
        room, alias = await make_team_room(owner, agents)
        transports = []
        for a in agents:
            t = MatrixTeam(AccountConfig(name="team", provider="matrix", options={
                "homeserver": server.url, "user_id": a.user_id, "rooms": [alias], "timeout": 30.0},
                secret=lambda pw=a.password: pw, kept=KeptSecrets()))
            await t.open(read_only=False)
            transports.append(t)
        observer = agents[0]
        empty_size, first = await raw_sync(server.url, observer.token, room, None)
        since = first["next_batch"]
        empty_incr, nothing = await raw_sync(server.url, observer.token, room, since)
        since = nothing["next_batch"]
        times, sizes = [], []
        now = time.time()
        for i, t in enumerate(transports[1:], 1):
            content = encode(name=f"Agent Number {i:04d}", mode="replying",
                             key=conversation_key("imap|username=support@example.com|host=mail.example.com", f"<t{i}>"),
                             since=now, now=now, ttl=TTL)
            start = time.perf_counter()
            await t.publish(t.room_ids[0], content)
            times.append(time.perf_counter() - start)
            size, answer = await raw_sync(server.url, observer.token, room, since)
            since = answer["next_batch"]
            sizes.append(size - empty_incr)
        content_bytes = len(json.dumps(content, separators=(",", ":")))
        late = await server.register()  # a console joining now (a first sync of its own, not a cached one)
        await owner.invite(room, late.user_id)
        await late.join(room)
        full_size, full = await raw_sync(server.url, late.token, room, None)
        entries = len(full["rooms"]["join"][room]["state"]["events"]) + len(full["rooms"]["join"][room]["timeline"]["events"])
        per_entry = (full_size - empty_size) / max(1, n - 1)
        event = statistics.median(sizes)
        times.sort()
        print(f"agents in the room: {n}; entries written: {n - 1}")
        print(f"one state write (PUT .../state/com.switchboard.presence/USER): p50 {statistics.median(times) * 1000:.1f} ms, "
              f"p95 {times[int(len(times) * 0.95) - 1] * 1000:.1f} ms")
        print(f"content of one entry: {content_bytes} bytes; one entry in another console's incremental /sync: "
              f"{event:.0f} bytes (median)")
        print(f"first /sync of a console (filtered to presence): {full_size} bytes for {entries} entries "
              f"({per_entry:.0f} bytes per entry; {empty_size} bytes with none)")
        heartbeats = 60 / HEARTBEAT
        print(f"1,000 agents, heartbeat {HEARTBEAT:g} s, one conversation change a minute each: "
              f"{1000 * (heartbeats + 1):,.0f} state events/min; rate-limit ceiling (one per {MIN_INTERVAL:g} s): "
              f"{1000 * 60 / MIN_INTERVAL:,.0f}/min")
        fan = 1000 * (heartbeats + 1) * 1000 * event / 60
        print(f"  /sync traffic out of the homeserver to 1,000 consoles: {fan / 1e6:.1f} MB/s "
              f"({1000 * (heartbeats + 1) * event / 60 / 1e3:.1f} KB/s per console); first /sync of one console: "
              f"{1000 * per_entry / 1e3:.0f} KB")
        for t in transports:
            await t.close()
    finally:
        _Running.release()


def key_index(n: int, root: Path) -> None:
    from console.cache import connect
    from console.cache import team as store
    from console.cache.db import transaction

    db = connect(root / "keys.sqlite3")
    db.execute("INSERT INTO accounts(name, provider, channel) VALUES ('support', 'imap', 'email')")
    now = time.time()
    with transaction(db):
        db.executemany("INSERT INTO threads(account_id, remote_id, channel, last_message_at, created_at) "
                       "VALUES (1, ?, 'email', ?, ?)", [(f"<root{i}@example.com>", now, now) for i in range(n)])
    ids = {"support": "imap|username=support@example.com|host=mail.example.com"}
    keys = {conversation_key(ids["support"], f"<root{i}@example.com>") for i in (0, n // 2, n - 1)}
    start = time.perf_counter()
    with transaction(db):
        store.resolve(db, keys, ids)
    first = time.perf_counter() - start
    times = []
    for _ in range(50):
        start = time.perf_counter()
        with transaction(db):
            store.resolve(db, keys, ids)
        times.append(time.perf_counter() - start)
    print(f"key index on {n:,} conversations: first lookup {first * 1000:.0f} ms (indexes every key once), "
          f"then p50 {statistics.median(times) * 1000:.2f} ms")
    db.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=50)
    ap.add_argument("--conversations", type=int, default=0, help="also time the key index on a cache this big")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="sb-bench-presence-") as tmp:
        if args.conversations:
            key_index(args.conversations, Path(tmp))
        asyncio.run(run(args.agents, Path(tmp)))


if __name__ == "__main__":
    main()
