"""The event filters the adapter asks the homeserver for: only what the console shows."""

from __future__ import annotations

import json

from providers.matrix.rooms import BRIDGE_STATE_TYPES

TIMELINE_TYPES = ["m.room.message", "m.room.encrypted", "m.room.redaction", "m.room.member", "m.room.name",
                  "m.room.encryption", *BRIDGE_STATE_TYPES]
STATE_TYPES = ["m.room.member", "m.room.name", "m.room.create", "m.room.encryption", *BRIDGE_STATE_TYPES]


def sync_filter(timeline_limit: int) -> str:
    """Inline JSON filter for ``/sync`` (inline, so read-only use uploads nothing)."""
    return json.dumps({
        "presence": {"not_types": ["*"]},
        "account_data": {"not_types": ["*"]},
        "room": {
            "timeline": {"limit": timeline_limit, "types": TIMELINE_TYPES},
            "state": {"types": STATE_TYPES, "lazy_load_members": False},
            "ephemeral": {"not_types": ["*"]},
            "account_data": {"not_types": ["*"]},
        },
    }, separators=(",", ":"))


def messages_filter() -> str:
    """RoomEventFilter for ``/rooms/{id}/messages`` back-fill."""
    return json.dumps({"types": TIMELINE_TYPES, "lazy_load_members": False}, separators=(",", ":"))


def has_news(resp: dict) -> bool:
    """Whether a sync answer carries anything the console would show."""
    rooms = resp.get("rooms") if isinstance(resp.get("rooms"), dict) else {}
    if rooms.get("invite") or rooms.get("leave"):
        return True
    for room in (rooms.get("join") or {}).values():
        if not isinstance(room, dict):
            continue
        if (room.get("timeline") or {}).get("events") or (room.get("state") or {}).get("events"):
            return True
    return False
