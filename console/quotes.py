"""Quoted history in a message: the one detector the UI (folding), tone and knowledge share.

Quoted history is a run of lines starting with ``>`` (blank lines inside the run
belong to it), an attribution line such as "On Mon, Ann wrote:" directly followed
by such lines (or wrapped over two lines), and everything below an
"----- Original Message -----" separator.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ATTRIBUTION = re.compile(r"^\s*(On\b.{0,300}\bwrote:|Le\b.{0,300}\ba écrit\s*:|Am\b.{0,300}\bschrieb\b.*:)\s*$",
                          re.IGNORECASE)
_ORIGINAL = re.compile(r"^\s*-{2,}\s*(Original Message|Forwarded message)\s*-{2,}\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Segment:
    """A run of lines: the message's own words, or quoted history."""

    quoted: bool
    lines: tuple[str, ...]


def fold_quotes(text: str) -> list[Segment]:
    """Split a message into own text and quoted history (see the module's docstring)."""
    lines = text.split("\n")
    segments: list[Segment] = []
    own: list[str] = []
    quoted: list[str] = []

    def flush_own() -> None:
        if own:
            segments.append(Segment(False, tuple(own)))
            own.clear()

    def flush_quoted() -> None:
        if quoted:
            # Trailing blank lines are not history.
            tail = []
            while quoted and not quoted[-1].strip():
                tail.append(quoted.pop())
            if quoted:
                segments.append(Segment(True, tuple(quoted)))
            quoted.clear()
            own.extend(tail)

    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        if _ORIGINAL.match(line):
            flush_own()
            flush_quoted()
            segments.append(Segment(True, tuple(lines[i:])))
            return _merge(segments)
        attribution = _attribution_length(lines, i)
        if attribution:
            flush_own()
            quoted.extend(lines[i:i + attribution])
            i += attribution
            continue
        if line.lstrip().startswith(">"):
            flush_own()
            quoted.append(line)
        elif not line.strip() and quoted and _next_nonblank_quoted(lines, i):
            quoted.append(line)
        else:
            flush_quoted()
            own.append(line)
        i += 1
    flush_quoted()
    flush_own()
    return _merge(segments)


def _attribution_length(lines: list[str], i: int) -> int:
    """How many lines an attribution starting at ``i`` spans (0: none). It must lead into quoted lines."""
    if not lines[i].strip():
        return 0
    for span in (1, 2):
        if i + span > len(lines):
            break
        candidate = " ".join(part.strip() for part in lines[i:i + span])
        if _ATTRIBUTION.match(candidate) and _next_nonblank_quoted(lines, i + span - 1):
            return span
    return 0


def _next_nonblank_quoted(lines: list[str], i: int) -> bool:
    for later in lines[i + 1:]:
        if later.strip():
            return later.lstrip().startswith(">")
    return False


def _merge(segments: list[Segment]) -> list[Segment]:
    out: list[Segment] = []
    for seg in segments:
        if out and out[-1].quoted == seg.quoted:
            out[-1] = Segment(seg.quoted, out[-1].lines + seg.lines)
        else:
            out.append(seg)
    # Drop own segments that are only blank lines at the edges.
    while out and not out[-1].quoted and not any(l.strip() for l in out[-1].lines):
        out.pop()
    while out and not out[0].quoted and not any(l.strip() for l in out[0].lines):
        out.pop(0)
    return out


def strip_quoted(text: str) -> str:
    """The sender's own words: quoted history dropped, and nothing after a signature ("--") or an
    attribution line (a top-posted reply quotes below it without ">")."""
    own = [line for seg in fold_quotes(text) if not seg.quoted for line in seg.lines]
    out = []
    for line in own:
        stripped = line.strip()
        if stripped == "--" or _ATTRIBUTION.match(stripped):
            break
        out.append(line)
    return "\n".join(out)
