"""Whose devices an encrypted conversation reaches, in words an agent can check.

The conversation's first line lists each customer device with its key, so an agent can
compare the key with the customer by another channel and list it in
``verified_devices`` ("USER_ID DEVICE_ID FINGERPRINT"). A listed device whose key no
longer matches is called out: that is what a swapped device looks like.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from providers.base import OptionError
from providers.matrix.rooms import Room

if TYPE_CHECKING:  # the Olm machine is imported only when an account uses encryption
    from providers.matrix.crypto import Crypto


def parse_verified(account: str, entries: list) -> dict[tuple[str, str], str]:
    """``verified_devices`` as {(user id, device id): key without spaces}."""
    out = {}
    for entry in entries:
        parts = entry.split() if isinstance(entry, str) else []
        if len(parts) < 3 or not parts[0].startswith("@"):
            raise OptionError(f"account {account!r}: verified_devices entry {str(entry)[:80]!r} is not "
                              '"USER_ID DEVICE_ID FINGERPRINT"',
                              fix="copy it from the conversation's device line, "
                                  'e.g. "@dana:example.com ABCDEF 4f2a 9c1e ..."')
        out[(parts[0], parts[1])] = "".join(parts[2:])
    return out


def trust_line(crypto: Crypto, room: Room, own_user_id: str, verified: dict[tuple[str, str], str],
               refuse_unverified: bool) -> str:
    """Each joined customer's devices, keys and trust, in one line (or why this device cannot encrypt)."""
    if crypto.problem:
        return f"{crypto.problem} — {crypto.fix}"
    parts = []
    for mxid in room.customers(own_user_id):
        if room.members[mxid].membership != "join":
            continue
        who = room.display_name(mxid) or mxid
        devices = crypto.devices(mxid)
        if not devices:
            parts.append(f"{who}: devices not known yet")
        for d in devices:
            listed = verified.get((mxid, d.device_id))
            if listed is not None and listed != d.fingerprint.replace(" ", ""):
                state = "KEY DIFFERS from the one in verified_devices: do not trust this device"
            elif d.verified:
                state = "verified"
            elif d.blocked:
                state = "blocked"
            elif refuse_unverified:
                state = "not verified: replies are refused until it is"
            else:
                state = "not verified, trusted on first use"
            name = f" ({d.name})" if d.name else ""
            parts.append(f"{who}'s device {d.device_id}{name}, key {d.fingerprint}: {state}")
    return "; ".join(parts)


def all_verified(crypto: Crypto, room: Room, own_user_id: str) -> bool:
    devices = [d for mxid in room.customers(own_user_id) for d in crypto.devices(mxid)]
    return bool(devices) and all(d.verified for d in devices)
