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

import functools
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
# C0 except tab and newline, DEL, C1.
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Every format character (Unicode category Cf, as of Unicode 15), the grapheme joiner and
# the blank fillers. The two joiners among them are kept or dropped by what stands on
# either side (a test checks this list against the running Python's Unicode database).
_INVISIBLE_BMP = "\u00ad\u034f\u0600-\u0605\u061c\u06dd\u070f\u0890\u0891\u08e2\u115f\u1160\u180b-\u180f" \
                 "\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\u3164\ufeff\uffa0\ufff9-\ufffb"
_INVISIBLE_ASTRAL = "\U000110bd\U000110cd\U00013430-\U0001343f\U0001bca0-\U0001bca3\U0001d173-\U0001d17a" \
                    "\U000e0001\U000e0020-\U000e007f"
_INVISIBLE = re.compile(f"[{_INVISIBLE_BMP}{_INVISIBLE_ASTRAL}]")
# Searching for the few astral ones is slow in `re`, so they are looked for only in text
# that has astral characters at all (emoji, mostly).
_HAS_BMP_INVISIBLE = re.compile(f"[{_INVISIBLE_BMP}]").search
_HAS_ASTRAL_INVISIBLE = re.compile(f"[{_INVISIBLE_ASTRAL}]").search
_JOINING_SCRIPTS = ("Arabic", "Syriac", "Nko", "Devanagari", "Bengali", "Gurmukhi", "Gujarati", "Oriya", "Tamil",
                    "Telugu", "Kannada", "Malayalam", "Sinhala")


@functools.cache
def _joiner_context():
    """Patterns for a joiner's neighbours (the regex module knows Unicode properties),
    compiled on first need so start-up never pays for them."""
    import regex

    scripts = "".join(rf"\p{{Script={name}}}" for name in _JOINING_SCRIPTS)
    return (regex.compile(r"\p{Extended_Pictographic}"), regex.compile(r"[\p{Emoji_Modifier}\uFE0F]"),
            regex.compile(f"[{scripts}]"), regex.compile(r"\p{M}"))


def _has_invisible(text: str) -> bool:
    if text.isascii():
        return False
    if _HAS_BMP_INVISIBLE(text):
        return True
    astral = len(text.encode("utf-16-le", "surrogatepass")) > 2 * len(text)
    return astral and bool(_HAS_ASTRAL_INVISIBLE(text))


def _drop_invisible(text: str) -> str:
    """``text`` without its invisible characters, except the joiners real text needs."""
    kept, start = [], 0
    for m in _INVISIBLE.finditer(text):
        if not _needed_joiner(text, m.start()):
            kept.append(text[start:m.start()])
            start = m.end()
    return "".join(kept) + text[start:] if kept else text


def _needed_joiner(text: str, at: int) -> bool:
    """ZWJ between two emoji, or ZWNJ between two letters of a joining script."""
    char, after, before = text[at], text[at + 1:at + 2], at - 1
    if char not in "\u200c\u200d" or before < 0 or not after:
        return False
    emoji, emoji_tail, joining, mark = _joiner_context()
    if char == "\u200d":
        if emoji_tail.match(text[before]):
            before -= 1
        return before >= 0 and bool(emoji.match(text[before])) and bool(emoji.match(after))
    while before >= 0 and mark.match(text[before]):
        before -= 1
    return before >= 0 and bool(joining.match(text[before])) and bool(joining.match(after))


_XML_DECLARATION = re.compile(r"^<\?xml [^>]*\?>")
_LINE_SEPARATORS = ("\u2028", "\u2029", "\x85")


def clean_text(value: str | None) -> str:
    """Text with escape sequences, control and invisible characters removed (newline, tab kept)."""
    if not value:
        return ""
    if "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    for separator in _LINE_SEPARATORS:
        if separator in value:
            value = value.replace(separator, "\n")
    value = _ESCAPES.sub("", value)
    value = _CONTROLS.sub("", value)
    if _has_invisible(value):  # rare, and cheap to rule out
        value = _drop_invisible(value)
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
    """inscriptis' rendering (tables, lists, indents) of the whole document, parsed without
    lxml's 256-level cap. A fragment is parsed as a document, so no wrapper element adds
    indentation the sender never wrote."""
    import lxml.html  # lazy: keeps start-up light
    from inscriptis import Inscriptis
    from inscriptis.model.config import ParserConfig
    from lxml.etree import ParserError

    html = _XML_DECLARATION.sub("", html.strip(), count=1)
    try:
        tree = lxml.html.document_fromstring(html, parser=lxml.html.HTMLParser(huge_tree=True, no_network=True))
    except ParserError:  # e.g. a document of only a comment
        raise ValueError("unparsable HTML") from None
    return Inscriptis(tree, ParserConfig(display_links=True, display_images=False)).get_text()


_BLOCKS = {"address", "article", "aside", "blockquote", "br", "dd", "div", "dl", "dt", "footer", "h1", "h2", "h3",
           "h4", "h5", "h6", "header", "hr", "li", "ol", "p", "pre", "section", "table", "td", "th", "tr", "ul"}
_HIDDEN = {"script", "style", "head", "title", "template", "noscript"}


@functools.cache
def _flat_parser() -> type:
    from html.parser import HTMLParser  # lazy: only deep or broken HTML needs it

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

    return _FlatText


def _flat_text(html: str) -> str:
    parser = _flat_parser()()
    parser.feed(html)
    parser.close()
    return "\n".join(" ".join(line.split()) for line in "".join(parser.parts).splitlines())
