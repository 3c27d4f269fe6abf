"""Lines for people on the terminal (or a pipe, a cron mail, a log)."""

from __future__ import annotations

import sys

from providers.text import clean_text


def say(line: str, *, err: bool = True) -> None:
    """Print one line: plain text (never read as markup), nothing a terminal would act on,
    never wrapped or cut whatever the width, so the fix at its end always arrives."""
    stream = sys.stderr if err else sys.stdout
    try:
        print(" ".join(clean_text(line).splitlines()), file=stream, flush=True)
    except OSError:
        pass  # a closed pipe or a full disk: nowhere left to say it
