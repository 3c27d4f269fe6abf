"""One case-insensitive pattern for a long list of phrases, matched as whole words, fast.

Python's ``re`` tries every alternative of ``a|b|c…`` at every word start, and under
``re.IGNORECASE`` it cannot skip an alternative by its first letter. Tone and triage lists
run to hundreds of phrases, so each message cost milliseconds. Here the alternatives are
grouped by the characters they can begin with, each group behind a one-character
lookahead: at any position only the group for the character there is tried, in the
phrases' own order, so every match is the one the plain alternation finds.
"""

from __future__ import annotations

import re
import re._constants as sre  # the standard library's own regex parser (re._parser since 3.11)
import re._parser as sre_parse

_ANY = None  # an alternative that may begin with any character (\w, ., or nothing)
_DIGIT = r"\d"  # begins with a digit of any script: its own lookahead, as no single character stands for it


def whole_words(*alternatives: str) -> re.Pattern:
    """Any of these phrases as whole words, case-insensitive, apostrophes optional."""
    alts = [a.replace("'", "'?") for a in alternatives]
    starts = [_first_chars(sre_parse.parse(a, re.I)) for a in alts]
    chars = sorted(set().union(*(s for s in starts if s is not _ANY)))  # a digit's own group comes before \d's
    groups = [f"(?={c if c == _DIGIT else re.escape(c)})(?:{'|'.join(a for a, s in zip(alts, starts) if _may_begin(s, c))})"
              for c in chars]
    anywhere = [a for a, s in zip(alts, starts) if s is _ANY]
    if anywhere:
        groups.append(f"(?:{'|'.join(anywhere)})")
    return re.compile(rf"(?<![\w'])(?:{'|'.join(groups)})(?![\w'])", re.I)


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
