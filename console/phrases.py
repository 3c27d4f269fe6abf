"""One case-insensitive pattern for a long list of phrases, matched as whole words, fast.

Python's ``re`` tries every alternative of ``a|b|c…`` at every word start, and under
``re.IGNORECASE`` it cannot skip an alternative by its first letter. Tone and triage lists
run to hundreds of phrases, so each message cost milliseconds. Here the alternatives are
grouped by the characters they can begin with, each group behind a one-character
lookahead: at any position only the group for the character there is tried, in the
phrases' own order, so every match is the one the plain alternation finds. The pattern is a
:class:`Caseless`: ASCII text is read lower-cased, by its case-sensitive twin (tone's other
case-insensitive patterns use it too).
"""

from __future__ import annotations

import re
import re._constants as sre  # the standard library's own regex parser (re._parser since 3.11)
import re._parser as sre_parse

TWIN_AFTER = 64  # ASCII texts a Caseless pattern reads case-insensitively before it compiles its twin
_ANY = None  # an alternative that may begin with any character (\w, ., or nothing)
_DIGIT = r"\d"  # begins with a digit of any script: its own lookahead, as no single character stands for it


def whole_words(*alternatives: str) -> Caseless:
    """Any of these phrases as whole words, case-insensitive, apostrophes optional."""
    alts = [a.replace("'", "'?") for a in alternatives]
    starts = [_first_chars(sre_parse.parse(a, re.I)) for a in alts]
    chars = sorted(set().union(*(s for s in starts if s is not _ANY)))  # a digit's own group comes before \d's
    groups = [f"(?={c if c == _DIGIT else re.escape(c)})(?:{'|'.join(a for a, s in zip(alts, starts) if _may_begin(s, c))})"
              for c in chars]
    anywhere = [a for a, s in zip(alts, starts) if s is _ANY]
    if anywhere:
        groups.append(f"(?:{'|'.join(anywhere)})")
    return Caseless(rf"(?<![\w'])(?:{'|'.join(groups)})(?![\w'])")


class Caseless:
    """A case-insensitive pattern (``re.IGNORECASE`` plus ``flags``) with the calls tone makes of one:
    ``search``, ``match``, ``finditer``, ``sub``.

    Python's ``re`` folds the case of every character it compares under IGNORECASE. ASCII text
    (nearly all mail) is lower-cased once instead and read by the same pattern compiled
    case-sensitive, which finds exactly the same spans when the pattern has no upper-case letter,
    no set or range holding one, no character that folds onto an ASCII letter and no
    back-reference (checked before that twin is compiled; a pattern that fails the check is
    always read case-insensitively, as is any text that is not ASCII). Matches found that way
    are matches in the lower-cased text: ``group()`` is lower case, the spans are the same.
    """

    __slots__ = ("pattern", "flags", "_folded", "_lower_made", "_lower_pattern", "_reads")

    def __init__(self, source: str, flags: int = 0) -> None:
        self._folded = re.compile(source, re.I | flags)
        self.pattern, self.flags = self._folded.pattern, self._folded.flags
        # The case-sensitive twin is compiled once the pattern has read enough ASCII text to repay its
        # compiling (a few ms): importing, and reading a message or two, cost what they did.
        self._lower_made = False
        self._lower_pattern: re.Pattern | None = None
        self._reads = 0

    @property
    def _lower(self) -> re.Pattern | None:
        """The pattern compiled case-sensitive, for lower-cased ASCII text; None when it could read differently."""
        if not self._lower_made:
            flags = self.flags & ~re.I
            if _lower_case_only(sre_parse.parse(self.pattern, flags)):
                self._lower_pattern = re.compile(self.pattern, flags)
            self._lower_made = True
        return self._lower_pattern

    def _which(self, text: str) -> tuple[re.Pattern, str]:
        if text.isascii():
            if not self._lower_made:
                self._reads += 1
                if self._reads <= TWIN_AFTER:
                    return self._folded, text
            lower = self._lower
            if lower is not None:
                return lower, text.lower()
        return self._folded, text

    def search(self, text: str) -> re.Match | None:
        pattern, text = self._which(text)
        return pattern.search(text)

    def match(self, text: str, pos: int = 0) -> re.Match | None:
        pattern, text = self._which(text)
        return pattern.match(text, pos)

    def finditer(self, text: str):
        pattern, text = self._which(text)
        return pattern.finditer(text)

    def sub(self, repl: str, text: str) -> str:
        """Every match replaced by ``repl`` (a plain string: no group references), as ``re.sub``."""
        if "\\" in repl:
            raise ValueError("Caseless.sub takes a plain replacement string")
        pattern, lowered = self._which(text)
        if pattern is self._folded:
            return pattern.sub(repl, text)
        out, last = [], 0
        for m in pattern.finditer(lowered):
            out += (text[last:m.start()], repl)
            last = m.end()
        if not out:
            return text
        out.append(text[last:])
        return "".join(out)


# The characters outside ASCII that IGNORECASE folds onto an ASCII letter (dotted capital I, dotless i,
# long s, Kelvin sign; tests/core/test_phrases.py checks there are no others): a pattern holding one
# could match ASCII text case-insensitively where the lower-cased reading would not.
_FOLDS_TO_ASCII = frozenset("\u0130\u0131\u017f\u212a")


def _lower_case_only(items) -> bool:
    """Whether a parsed pattern reads lower-cased ASCII text case-sensitively exactly as it reads
    ASCII text case-insensitively: no upper-case ASCII letter in a literal or set, no range that
    reaches one, no character that folds onto an ASCII letter, no back-reference."""
    for op, arg in items:
        if op in (sre.LITERAL, sre.NOT_LITERAL):
            if not _plain_char(arg):
                return False
        elif op is sre.IN:
            for sop, sarg in arg:
                if sop in (sre.LITERAL, sre.NOT_LITERAL):
                    if not _plain_char(sarg):
                        return False
                elif sop is sre.RANGE:
                    lo, hi = sarg
                    if lo <= ord("Z") and hi >= ord("A") or any(ord(c) in range(lo, hi + 1) for c in _FOLDS_TO_ASCII):
                        return False
                elif sop not in (sre.NEGATE, sre.CATEGORY):
                    return False
        elif op is sre.SUBPATTERN:
            if not _lower_case_only(arg[3]):
                return False
        elif op is sre.BRANCH:
            if not all(_lower_case_only(b) for b in arg[1]):
                return False
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
            if not _lower_case_only(arg[2]):
                return False
        elif op in (sre.ASSERT, sre.ASSERT_NOT):
            if not _lower_case_only(arg[1]):
                return False
        elif op in (sre.ATOMIC_GROUP,):
            if not _lower_case_only(arg):
                return False
        elif op not in (sre.AT, sre.ANY, sre.CATEGORY):
            return False  # a back-reference, a conditional: read case-insensitive
    return True


def _plain_char(code: int) -> bool:
    c = chr(code)
    return not ("A" <= c <= "Z") and c not in _FOLDS_TO_ASCII


def _may_begin(starts: set[str] | None, char: str) -> bool:
    """Whether an alternative that can begin with ``starts`` can begin at ``char``."""
    return starts is _ANY or char in starts or (_DIGIT in starts and re.fullmatch(r"\d", char) is not None)


def _first_chars(items) -> set[str] | None:
    """The lower-cased characters a parsed pattern can begin with, or ``_ANY``."""
    found: set[str] = set()
    for op, arg in items:
        if op in (sre.ASSERT, sre.ASSERT_NOT, sre.AT):
            continue  # zero width: the next item begins the match
        if op is sre.LITERAL:
            return found | {chr(arg).lower()}
        if op is sre.IN:
            chars = _set_chars(arg)
            return _ANY if chars is _ANY else found | chars
        if op is sre.SUBPATTERN:
            branches, least = [arg[3]], arg[3].getwidth()[0]
        elif op is sre.BRANCH:
            branches, least = arg[1], min(b.getwidth()[0] for b in arg[1])
        elif op in (sre.MAX_REPEAT, sre.MIN_REPEAT):
            branches, least = [arg[2]], arg[0] and arg[2].getwidth()[0]
        else:
            return _ANY
        for branch in branches:
            chars = _first_chars(branch)
            if chars is _ANY:
                return _ANY
            found |= chars
        if least > 0:
            return found
    return _ANY  # it can match the empty string


def _set_chars(items) -> set[str] | None:
    chars: set[str] = set()
    for op, arg in items:
        if op is sre.LITERAL:
            chars.add(chr(arg).lower())
        elif op is sre.RANGE and arg[1] - arg[0] < 128:
            chars.update(chr(c).lower() for c in range(arg[0], arg[1] + 1))
        elif op is sre.CATEGORY and arg is sre.CATEGORY_DIGIT:
            chars.add(_DIGIT)
        else:
            return _ANY  # another category (\w, \s), or a negated or wide set
    return chars
