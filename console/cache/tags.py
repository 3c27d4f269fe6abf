"""Whose tag is it: tags on a conversation keep where they came from, so nobody's tag is lost.

``threads.tags`` is the list everyone reads; ``threads.tag_origins`` maps each tag to
``provider`` (the remote system reports it), ``triage`` (a rule set it, local only) or
``agent`` (added here by a person), plus ``removed`` for a provider tag an agent took
off whose removal the provider has not reported yet.

The agent's tag action only edits ``threads.tags``; what it did is read back here by
comparing the list with the origins (a tag without origin was added by an agent, a
tag with an origin missing from the list was removed by one). When the provider
reports its tags, only tags it reported before and no longer reports are dropped:
triage and agent tags stay, a removal stays a removal.
"""

from __future__ import annotations

import json

PROVIDER, TRIAGE, AGENT, REMOVED = "provider", "triage", "agent", "removed"


def load(tags_json: str | None, origins_json: str | None) -> tuple[list[str], dict[str, str]]:
    tags = json.loads(tags_json or "[]")
    origins = json.loads(origins_json or "{}")
    return list(tags), dict(origins) if isinstance(origins, dict) else {}


def dump(tags: list[str], origins: dict[str, str]) -> tuple[str, str]:
    return json.dumps(sorted(set(tags))), json.dumps(dict(sorted(origins.items())))


def reconcile(tags: list[str], origins: dict[str, str]) -> dict[str, str]:
    """Origins brought up to date with what agents did to the list since they were written."""
    out = {}
    present = set(tags)
    for tag in present:
        out[tag] = origins.get(tag, AGENT) if origins.get(tag) != REMOVED else AGENT
    for tag, origin in origins.items():
        if tag not in present:
            if origin == PROVIDER or origin == REMOVED:
                out[tag] = REMOVED  # the provider still has it until it says otherwise
    return out


def merge_reported(tags: list[str], origins: dict[str, str], reported: list[str]) -> tuple[list[str], dict[str, str]]:
    """The conversation's tags after the provider reported its own list."""
    origins = reconcile(tags, origins)
    reported_set = set(reported)
    for tag, origin in list(origins.items()):
        if origin == PROVIDER and tag not in reported_set:
            del origins[tag]  # the provider removed it
        elif origin == REMOVED and tag not in reported_set:
            del origins[tag]  # the provider caught up with the agent's removal
    for tag in reported_set:
        if origins.get(tag) != REMOVED:
            origins[tag] = PROVIDER
    return sorted(t for t, o in origins.items() if o != REMOVED), origins


def add(tags: list[str], origins: dict[str, str], new: list[str], origin: str) -> tuple[list[str], dict[str, str]]:
    """``new`` tags added by ``origin`` (a tag someone already holds keeps its origin)."""
    origins = reconcile(tags, origins)
    for tag in new:
        if origins.get(tag) in (None, REMOVED):
            origins[tag] = origin
    return sorted(t for t, o in origins.items() if o != REMOVED), origins


def provenance(tags_json: str | None, origins_json: str | None) -> dict[str, str]:
    """Each tag on the conversation with who put it there."""
    tags, origins = load(tags_json, origins_json)
    return {t: o for t, o in reconcile(tags, origins).items() if o != REMOVED}
