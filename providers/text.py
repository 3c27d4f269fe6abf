"""Making hostile provider text inert.

Every string a provider returns may carry terminal escape sequences (OSC 52
clipboard writes, title changes, cursor moves), stray control characters,
invisible formatting characters or HTML. ``clean_text`` strips what a terminal
would act on and what a reader cannot see; ``html_to_text`` turns HTML into plain
text with a real parser that never fetches anything. Markup safety (Rich/Textual)
is the printer's job: provider text is never rendered as markup.

Invisible characters: every format character (Unicode category Cf: zero-width
space and joiners, word joiner, BOM, bidi marks, embeddings, overrides and
isolates, the Arabic letter mark, tag characters, soft hyphen, …) and the
blank "filler" letters are removed, so "Sup\u200bport" cannot pass for "Support".
Two are kept where real text needs them and nowhere else: ZWJ between two
emoji (family and profession sequences) and ZWNJ between two letters of a
script that joins (Arabic, Syriac, the Indic scripts: Persian and Hindi
spelling depend on it). Tag characters go even in flag sequences (a subdivision
flag shows as a black flag).
"""

from __future__ import annotations

import re
import unicodedata
from html.parser import HTMLParser

import regex

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
# C0 except tab and newline, DEL, C1.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_JOINING = r"\p{Script=Arabic}\p{Script=Syriac}\p{Script=Nko}\p{Script=Devanagari}\p{Script=Bengali}" \
           r"\p{Script=Gurmukhi}\p{Script=Gujarati}\p{Script=Oriya}\p{Script=Tamil}\p{Script=Telugu}" \
           r"\p{Script=Kannada}\p{Script=Malayalam}\p{Script=Sinhala}"
_INVISIBLE = regex.compile(
    r"(?<!\p{Extended_Pictographic}[\p{Emoji_Modifier}\uFE0F]?)\u200d"  # ZWJ not after an emoji
    r"|\u200d(?!\p{Extended_Pictographic})"                              # ... or not before one
    rf"|(?<![{_JOINING}]\p{{M}}*)\u200c|\u200c(?![{_JOINING}])"           # ZWNJ outside joining scripts
    r"|[\p{Cf}--[\u200c\u200d]]"                                         # every other format character
    r"|[\u034f\u115f\u1160\u3164\uffa0\u180b-\u180f]",                   # grapheme joiner, blank fillers
    regex.V1,
)
_LINE_SEPARATORS = str.maketrans({"\u2028": "\n", "\u2029": "\n", "\x85": "\n"})


def clean_text(value: str | None) -> str:
    """Text with escape sequences, control and invisible characters removed (newline, tab kept)."""
    if not value:
        return ""
    if "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = _ESCAPES.sub("", value.translate(_LINE_SEPARATORS))
    value = _CONTROLS.sub("", value)
    value = _INVISIBLE.sub("", value)
    return unicodedata.normalize("NFC", value)


def clean_line(value: str | None) -> str:
    """``clean_text`` folded onto one line: for names, subjects, addresses."""
    return " ".join(clean_text(value).split())


def html_to_text(html: str | None) -> str:
    """Readable plain text from an HTML body. Scripts and styles are dropped, links
    are kept as text (never followed), nothing is fetched; HTML nested deeper than
    the layout engine can follow still keeps every word."""
    if not html or not html.strip():
        return ""
    try:
        text = _layout_text(html)
    except (RecursionError, ValueError):
        text = _flat_text(html)
    lines = [line.rstrip() for line in clean_text(text).splitlines()]
    # Collapse runs of blank lines that layout engines leave behind.
    out: list[str] = []
    for line in lines:
        if not line and out and not out[-1]:
            continue
        out.append(line)
    return "\n".join(out).strip()


def _layout_text(html: str) -> str:
    """inscriptis' rendering (tables, lists, indents) of an lxml tree parsed without lxml's 256-level cap."""
    import lxml.html  # lazy: keeps start-up light
    from inscriptis import Inscriptis
    from inscriptis.model.config import ParserConfig

    try:
        tree = lxml.html.fromstring(html, parser=lxml.html.HTMLParser(huge_tree=True, no_network=True))
    except Exception:  # lxml calls an empty or comment-only document an error
        raise ValueError("unparsable HTML") from None
    return Inscriptis(tree, ParserConfig(display_links=True, display_images=False)).get_text()


_BLOCKS = {"address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "footer", "h1", "h2", "h3",
           "h4", "h5", "h6", "header", "hr", "li", "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul"}
_HIDDEN = {"script", "style", "head", "title", "template", "noscript"}


class _FlatText(HTMLParser):
    """Every text node in order, a line break at block elements; no recursion, so no depth limit."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.hidden = 0
        self.href: list[str] = []

    def handle_starttag(self, tag: str, attrs) -> None:
        if tag in _HIDDEN:
            self.hidden += 1
        elif tag in _BLOCKS:
            self.parts.append("\n")
        if tag == "a":
            self.href.append(dict(attrs).get("href") or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in _HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        elif tag in _BLOCKS:
            self.parts.append("\n")
        elif tag == "a" and self.href:
            href = self.href.pop()
            if href and not self.hidden:
                self.parts.append(f" ({href})")

    def handle_data(self, data: str) -> None:
        if not self.hidden:
            self.parts.append(data)


def _flat_text(html: str) -> str:
    parser = _FlatText()
    parser.feed(html)
    parser.close()
    return "\n".join(" ".join(line.split()) for line in "".join(parser.parts).splitlines())
