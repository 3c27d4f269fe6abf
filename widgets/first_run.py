"""What the inbox column shows before there is anything to list.

- No accounts configured: where the config file goes (and where the example is), how to
  store a secret (``switchboard accounts add``), and ``--demo`` to look around first.
- An account's first sync still running and nothing to list yet: one line per account
  (its name, its state, the messages pulled so far), from the engine's account states.

Otherwise the inbox is shown (its own "Nothing here" line for an empty view). Account
names and details come from the config and the engine: shown as plain ``Text``.
"""

from __future__ import annotations

from pathlib import Path

from rich.text import Text

from widgets.statusbar import STATE_STYLE, STATE_WORD
from widgets.steady import SteadyStatic

FIRST_SYNC_STATES = ("starting", "syncing")


def example_config() -> Path | None:
    """The example config.toml that comes with the source, if it is there."""
    path = Path(__file__).resolve().parents[1] / "config.toml"
    return path if path.is_file() else None


def guide_mode(total: int, configured: list[str], accounts: list, engine_starting: bool) -> str | None:
    """'welcome' (no accounts), 'progress' (a first sync under way, nothing to list) or None.
    ``accounts`` are the engine's states (none yet while it starts, or when sync is off)."""
    if total:
        return None
    if not configured:
        return "welcome"
    if engine_starting or any(getattr(a, "state", "") in FIRST_SYNC_STATES for a in accounts):
        return "progress"
    return None


def welcome_text(config_path: Path | None, looked_at: Path, example: Path | None) -> Text:
    text = Text()
    text.append("Welcome to Switchboard — no accounts yet.\n\n", style="bold")
    if config_path is not None:
        text.append("1. Your config ")
        text.append(str(config_path), style="bold")
        text.append(" names no account: add an [[accounts]] table for each mailbox, chat or helpdesk.\n")
    else:
        text.append("1. Copy the example config to ")
        text.append(str(looked_at), style="bold")
        text.append(" (the path Switchboard looks for; or pass --config FILE) and name your accounts in it.\n")
    text.append("   The example, every setting explained: ")
    text.append(str(example) if example else "config.toml in the Switchboard source (see the README)", style="bold")
    text.append("\n2. Store each account's password or token in the keyring:\n     ")
    text.append("switchboard accounts add NAME", style="bold")
    text.append("\n3. Check the setup, then start again:\n     ")
    text.append("switchboard doctor", style="bold")
    text.append("   then   ")
    text.append("switchboard", style="bold")
    text.append("\n\nJust looking? ")
    text.append("switchboard --demo", style="bold")
    text.append(" opens a demo inbox: no accounts, no network.\n\n")
    text.append("? shows every key · q quits", style="dim")
    return text


def progress_text(configured: list[str], accounts: list) -> Text:
    by_name = {a.name: a for a in accounts}
    text = Text()
    text.append("First sync — nothing to list yet.\n\n", style="bold")
    width = max(len(n) for n in configured) if configured else 0
    for name in configured:
        acc = by_name.get(name)
        state = getattr(acc, "state", "starting")
        text.append(f"  {name:<{width}}  ", style="bold")
        text.append(STATE_WORD.get(state, state.replace("_", " ")), style=STATE_STYLE.get(state, ""))
        count = getattr(acc, "synced_messages", 0)
        text.append(f" — {count:,} message{'s' if count != 1 else ''} so far")
        detail = getattr(acc, "error", "") or getattr(acc, "detail", "")
        if detail:
            text.append(f" ({' '.join(str(detail).split())[:120]})", style="dim")
        text.append("\n")
    text.append("\nConversations appear here as they arrive. S shows each account's state and fix.", style="dim")
    return text


class FirstRunGuide(SteadyStatic):
    """The inbox column's text while there is nothing to list (see the module docstring)."""

    DEFAULT_CSS = """
    FirstRunGuide { height: 1fr; padding: 1 2; display: none; }
    """

    def show_for(self, mode: str | None, *, configured: list[str], accounts: list, config_path: Path | None,
                 looked_at: Path) -> None:
        self.display = mode is not None
        if mode == "welcome":
            self.update(welcome_text(config_path, looked_at, example_config()))
        elif mode == "progress":
            self.update(progress_text(configured, accounts))
