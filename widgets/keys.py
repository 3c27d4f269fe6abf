"""Key bindings built from the action registry plus ``[keymap]`` overrides.

Every binding carries its action id as the Textual binding ``id``; nothing here
lists keys of its own. Two single keys joined by one comma (``"g,g"``) are a
two-key sequence (a prefix key, then a key); otherwise a comma separates
alternatives (``cursor_down = "j,down"``). A list is clearer and always means
alternatives: ``cursor_down = ["j", "down"]``; ``cursor_top = ["g,g", "home"]``.

Problems in ``[keymap]`` are collected as one line per kind (unknown ids, clashes,
bad key names) so the app can show them at start-up and the CLI can print them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.binding import Binding
from textual.keys import _character_to_key, format_key

from console.actions import REGISTRY, Action

# Contexts whose keys are live together on the main screen (their keys may not clash).
MAIN_CONTEXTS = ("global", "inbox", "thread")
SEQUENCE_SEPARATOR = ","

_NAMED_KEYS = {
    "up", "down", "left", "right", "home", "end", "pageup", "pagedown", "enter", "escape", "tab", "backspace",
    "delete", "insert", "space", "shift+tab",
}


def normalize_key(key: str) -> str:
    """'?' -> 'question_mark', 'Ctrl+S' -> 'ctrl+s', 'G' stays 'G'."""
    key = key.strip()
    if len(key) == 1:
        return _character_to_key(key)
    parts = key.split("+")
    mods, last = [p.lower() for p in parts[:-1]], parts[-1]
    if len(last) == 1:
        last = _character_to_key(last.lower() if mods else last)
    elif last.lower() in _NAMED_KEYS or last.lower().startswith("f") and last[1:].isdigit():
        last = last.lower()
    return "+".join([*mods, last])


def _valid_key(key: str) -> bool:
    last = key.split("+")[-1]
    if not last:
        return False
    if len(last) == 1 or last in _NAMED_KEYS or (last.startswith("f") and last[1:].isdigit()):
        return True
    # Names Textual knows for punctuation (question_mark, slash, colon, ...).
    from textual.keys import key_to_character

    return key_to_character(last) is not None


def split_keys(value: str | list[str] | tuple[str, ...]) -> list[str]:
    """Keymap value -> list of key specs. A spec 'g,g' (two single keys) stays a sequence."""
    items = [value] if isinstance(value, str) else list(value)
    out: list[str] = []
    for item in items:
        parts = [p.strip() for p in item.split(SEQUENCE_SEPARATOR) if p.strip()]
        if len(parts) == 2 and all(len(p) == 1 for p in parts) and item.count(",") == 1 and " " not in item:
            out.append(f"{parts[0]},{parts[1]}")  # a two-key sequence like "g,g"
        else:
            out.extend(parts)
    return out


def _normalize_spec(spec: str) -> str:
    if SEQUENCE_SEPARATOR in spec:
        return SEQUENCE_SEPARATOR.join(normalize_key(p) for p in spec.split(SEQUENCE_SEPARATOR))
    return normalize_key(spec)


def display_key(spec: str) -> str:
    """How a key looks in help and the palette: 'g g', '?', 'ctrl+p'."""
    return " ".join(format_key(k) if len(k) > 1 else k for k in spec.split(SEQUENCE_SEPARATOR))


@dataclass
class Keymap:
    """The effective keys of every action, and what went wrong reading ``[keymap]``."""

    keys: dict[str, list[str]] = field(default_factory=dict)  # action id -> normalized key specs
    unknown: list[str] = field(default_factory=list)
    clashes: list[tuple[str, list[str]]] = field(default_factory=list)  # key -> action ids
    bad_keys: list[tuple[str, str]] = field(default_factory=list)  # (action id, key)
    overridden: list[str] = field(default_factory=list)  # action ids whose keys [keymap] replaced

    @property
    def problems(self) -> list[str]:
        """One line per kind of problem, each naming the fix."""
        lines = []
        if self.unknown:
            lines.append("keymap: unknown action id(s) " + ", ".join(repr(u) for u in self.unknown)
                         + " — press ? for the list of action ids, or see `switchboard do --list`")
        if self.clashes:
            lines.append("keymap: key clash " + "; ".join(
                f"{display_key(k)} is bound to {' and '.join(ids)}" for k, ids in self.clashes)
                + f" — the first keeps it; give the other{'s' if len(self.clashes) > 1 else ''} another key in [keymap]")
        if self.bad_keys:
            lines.append("keymap: unknown key name(s) " + ", ".join(f"{a} = {k!r}" for a, k in self.bad_keys)
                         + " — use names like \"x\", \"X\", \"ctrl+x\", \"f5\", \"enter\", \"question_mark\"")
        return lines

    def sequences(self) -> dict[str, dict[str, str]]:
        """prefix key -> {second key -> action id} for two-key sequences in the main contexts."""
        out: dict[str, dict[str, str]] = {}
        for action_id, specs in self.keys.items():
            if REGISTRY[action_id].context not in MAIN_CONTEXTS:
                continue
            for spec in specs:
                if SEQUENCE_SEPARATOR in spec:
                    first, second = spec.split(SEQUENCE_SEPARATOR, 1)
                    out.setdefault(first, {})[second] = action_id
        return out

    def first_key(self, action_id: str) -> str:
        specs = self.keys.get(action_id) or []
        return display_key(specs[0]) if specs else ""

    def display(self, action_id: str) -> str:
        return ", ".join(display_key(s) for s in self.keys.get(action_id, []))


def _overlap(a: Action, b: Action) -> bool:
    if a.context in MAIN_CONTEXTS and b.context in MAIN_CONTEXTS:
        return True
    return a.context == b.context


def build_keymap(overrides: dict[str, list[str]] | None) -> Keymap:
    """Registry defaults, then ``[keymap]`` overrides (which replace an action's keys)."""
    km = Keymap()
    overrides = overrides or {}
    for action_id in overrides:
        if action_id not in REGISTRY:
            km.unknown.append(action_id)
    for action in REGISTRY.values():
        if action.id in overrides:
            km.overridden.append(action.id)
            specs = []
            for raw in split_keys(overrides[action.id]):
                spec = _normalize_spec(raw)
                if all(_valid_key(k) for k in spec.split(SEQUENCE_SEPARATOR)):
                    specs.append(spec)
                else:
                    km.bad_keys.append((action.id, raw))
        else:
            specs = [_normalize_spec(k) for k in action.keys]
        km.keys[action.id] = specs
    # Clashes: the same key (or a sequence's prefix shadowing a key) in overlapping contexts.
    # Overridden actions are checked against everything; the first claimant keeps the key.
    owners: dict[str, str] = {}
    order = [a for a in REGISTRY.values() if a.id not in overrides] + [
        REGISTRY[i] for i in overrides if i in REGISTRY]
    clashes: dict[str, list[str]] = {}
    for action in order:
        kept = []
        for spec in km.keys[action.id]:
            probe = [spec, spec.split(SEQUENCE_SEPARATOR)[0]] if SEQUENCE_SEPARATOR in spec else [spec]
            clash_with = None
            for p in probe:
                other = owners.get(p)
                if other and other != action.id and _overlap(REGISTRY[other], action):
                    clash_with = other
                    break
            # A plain key that another action uses as a sequence prefix.
            if clash_with is None and SEQUENCE_SEPARATOR not in spec:
                for owned, other in owners.items():
                    if owned.startswith(spec + SEQUENCE_SEPARATOR) and other != action.id \
                            and _overlap(REGISTRY[other], action):
                        clash_with = other
                        break
            if clash_with is not None:
                if action.id in overrides or clash_with in overrides:
                    entry = clashes.setdefault(spec, [clash_with])
                    if action.id not in entry:
                        entry.append(action.id)
                continue  # the first claimant keeps the key
            owners[spec] = action.id
            kept.append(spec)
        km.keys[action.id] = kept
    km.clashes = list(clashes.items())
    return km


def textual_keymap(km: Keymap) -> dict[str, str]:
    """``[keymap]`` for ``App.set_keymap``: binding id -> its single keys (sequences live in widgets.sequences)."""
    return {action_id: ",".join(specs) for action_id in km.overridden
            if (specs := [s for s in km.keys.get(action_id, []) if SEQUENCE_SEPARATOR not in s])}


class RegistryBindings:
    """Mixin for a Textual class (first among its bases): a Binding for every registry action the
    class implements as ``action_<id>``, with the registry's keys and the action id as binding id,
    so ``[keymap]`` rebinds it through ``App.set_keymap``. Two-key sequences: widgets.sequences."""

    def __init_subclass__(cls, **kwargs) -> None:
        ours = [k for k in cls.__mro__ if not k.__module__.startswith(("textual", "builtins"))]
        bindings = list(cls.__dict__.get("BINDINGS", []))
        for action in REGISTRY.values():
            if not any(f"action_{action.id}" in vars(k) for k in ours):
                continue
            for spec in action.keys:
                if SEQUENCE_SEPARATOR not in spec:
                    bindings.append(Binding(normalize_key(spec), action.id, action.description, show=False,
                                            id=action.id, priority=action.context == "composer"))
        cls.BINDINGS = bindings
        super().__init_subclass__(**kwargs)  # Textual merges the bindings here
