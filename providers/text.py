"""Making hostile provider text inert.

Every string a provider returns may carry terminal escape sequences (OSC 52
clipboard writes, title changes, cursor moves), stray control characters, bidi
overrides or HTML. ``clean_text`` strips what a terminal would act on;
``html_to_text`` turns HTML into plain text with a real parser that never fetches
anything. Markup safety (Rich/Textual) is the UI's job: it never renders
provider text as markup.
"""

from __future__ import annotations

import re
import unicodedata

# ESC-introduced sequences: CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST),
# DCS/SOS/PM/APC (ESC P/X/^/_ ... ST), and two-byte escapes (ESC + one char).
_ESCAPES = re.compile(
    r"""
    \x1b\[[0-?]*[ -/]*[@-~]            # CSI
  | \x1b\][^\x07\x1b]*(?:\x07|\x1b\\)? # OSC ... BEL | ST (unterminated: to end)
  | \x1b[PX^_][^\x1b]*(?:\x1b\\)?      # DCS, SOS, PM, APC
  | \x1b[@-Z\\-_]                      # other Fe escapes
  | \x1b.?                             # anything else after ESC
  | \x9b[0-?]*[ -/]*[@-~]              # 8-bit CSI
  | \x9d[^\x07\x9c]*(?:\x07|\x9c)?     # 8-bit OSC
    """,
    re.VERBOSE | re.DOTALL,
)
# C0 except tab and newline, DEL, C1, and bidi controls that reorder text on screen.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean_text(value: str | None) -> str:
    """Text with escape sequences and control characters removed (newline, tab kept)."""
    if not value:
        return ""
    if "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = _ESCAPES.sub("", value)
    value = _CONTROLS.sub("", value)
    return unicodedata.normalize("NFC", value)


def clean_line(value: str | None) -> str:
    """``clean_text`` folded onto one line: for names, subjects, addresses."""
    return " ".join(clean_text(value).split())


def html_to_text(html: str | None) -> str:
    """Readable plain text from an HTML body. Scripts and styles are dropped, links
    are kept as text (never followed), nothing is fetched."""
    if not html or not html.strip():
        return ""
    from inscriptis import get_text  # lazy: keeps start-up light
    from inscriptis.model.config import ParserConfig

    try:
        text = get_text(html, ParserConfig(display_links=True, display_images=False))
    except Exception:  # a parser must never take the sync down; fall back to tag stripping
        text = re.sub(r"<[^>]*>", " ", html)
    lines = [line.rstrip() for line in clean_text(text).splitlines()]
    # Collapse runs of blank lines that layout engines leave behind.
    out: list[str] = []
    for line in lines:
        if not line and out and not out[-1]:
            continue
        out.append(line)
    return "\n".join(out).strip()
