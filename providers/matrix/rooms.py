"""What the adapter remembers about each room: members, name, encryption, bridge.

Matrix sends state as deltas, so the adapter folds every state event it sees into
a :class:`Room`; a room it meets for the first time after a restart is filled
from ``/rooms/{id}/state`` by the caller. From that state come the conversation's
subject, its customer and, for bridged rooms, the network the customer is on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from providers.base import Channel, Identity
from providers.text import clean_line

# Bridge bots by the localpart their bridges use by default (mautrix and others).
BRIDGE_BOTS = {
    "whatsappbot": "WhatsApp",
    "telegrambot": "Telegram",
    "signalbot": "Signal",
    "metabot": "Messenger",
    "facebookbot": "Messenger",
    "messengerbot": "Messenger",
    "instagrambot": "Instagram",
    "twitterbot": "X",
    "discordbot": "Discord",
    "slackbot": "Slack",
    "gmessagesbot": "Google Messages",
    "imessagebot": "iMessage",
    "linkedinbot": "LinkedIn",
    "googlechatbot": "Google Chat",
}
BRIDGE_STATE_TYPES = ("m.bridge", "uk.half-shot.bridge")
# mautrix-whatsapp names puppets whatsapp_<phone digits>; that phone links identities.
_WHATSAPP_PUPPET = re.compile(r"^@whatsapp_(\d{7,15}):")


def localpart(mxid: str) -> str:
    return mxid[1:].split(":", 1)[0] if mxid.startswith("@") else mxid


def bot_network(mxid: str) -> str:
    return BRIDGE_BOTS.get(localpart(mxid).lower(), "")


@dataclass(slots=True)
class Member:
    membership: str
    display_name: str = ""


@dataclass(slots=True)
class Room:
    room_id: str
    name: str = ""
    creator: str = ""
    inviter: str = ""  # who invited us
    encryption_event: tuple[str, int, str] | None = None  # (event id, ts, sender)
    bridge_network: str = ""
    members: dict[str, Member] = field(default_factory=dict)
    last_ts: int = 0
    state_loaded: bool = False

    @property
    def encrypted(self) -> bool:
        return self.encryption_event is not None

    # ------------------------------------------------------------------ folding state

    def apply(self, event: dict, own_user_id: str) -> None:
        """Fold one state event (full or stripped) into the room."""
        etype = event.get("type")
        key = event.get("state_key")
        content = event.get("content") if isinstance(event.get("content"), dict) else {}
        ts = event.get("origin_server_ts")
        if isinstance(ts, int):
            self.last_ts = max(self.last_ts, ts)
        if key is None or not isinstance(key, str):
            return
        if etype == "m.room.member":
            membership = content.get("membership", "")
            name = content.get("displayname")
            self.members[key] = Member(membership if isinstance(membership, str) else "",
                                       name if isinstance(name, str) else "")
            if key == own_user_id and membership == "invite":
                self.inviter = event.get("sender", "") or self.inviter
        elif etype == "m.room.name":
            name = content.get("name")
            self.name = name if isinstance(name, str) else ""
        elif etype == "m.room.create":
            creator = content.get("creator") or event.get("sender") or ""
            self.creator = creator if isinstance(creator, str) else ""
        elif etype == "m.room.encryption" and content.get("algorithm"):
            self.encryption_event = (event.get("event_id") or f"{self.room_id}/encryption",
                                     ts if isinstance(ts, int) else self.last_ts, event.get("sender", ""))
        elif etype in BRIDGE_STATE_TYPES:
            protocol = content.get("protocol") if isinstance(content.get("protocol"), dict) else {}
            name = protocol.get("displayname") or protocol.get("id") or ""
            if isinstance(name, str) and name:
                self.bridge_network = clean_line(name) if protocol.get("displayname") else clean_line(name).title()

    # ------------------------------------------------------------------ reading it

    @property
    def network(self) -> str:
        """The chat network a bridged room comes from, "" for a plain Matrix room."""
        if self.bridge_network:
            return self.bridge_network
        for mxid, member in self.members.items():
            if member.membership in ("join", "invite"):
                net = bot_network(mxid)
                if net:
                    return net
        return ""

    def display_name(self, mxid: str) -> str:
        member = self.members.get(mxid)
        return clean_line(member.display_name) if member and member.display_name else ""

    def identity(self, mxid: str) -> Identity:
        """A person in this room as an Identity (a bridge puppet carries its network)."""
        network = self.network if not bot_network(mxid) else ""
        phone = ""
        m = _WHATSAPP_PUPPET.match(mxid)
        if m and network == "WhatsApp":
            phone = "+" + m.group(1)
        return Identity(channel=Channel.CHAT, address=mxid, display_name=self.display_name(mxid),
                        network=network, phone=phone)

    def customers(self, own_user_id: str) -> list[str]:
        """Members who are customers: everyone but us and bridge bots, present or past."""
        return [mxid for mxid, m in self.members.items()
                if mxid != own_user_id and not bot_network(mxid) and m.membership in ("join", "invite", "leave")]

    def customer(self, own_user_id: str) -> str:
        """The main customer: whoever invited us, else the creator, else the first other member."""
        people = self.customers(own_user_id)
        for candidate in (self.inviter, self.creator):
            if candidate and candidate in people:
                return candidate
        joined = [p for p in people if self.members[p].membership == "join"]
        return (joined or people or [""])[0]

    def subject(self, own_user_id: str) -> str:
        if self.name:
            return clean_line(self.name)
        who = self.customer(own_user_id)
        name = self.display_name(who) or who
        return f"Chat with {name}" if name else "Chat"
