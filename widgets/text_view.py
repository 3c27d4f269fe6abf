"""A scrolling view of pre-wrapped rich ``Text``, drawn line by line.

A ``Static`` inside a scroll container lays the whole screen out whenever its text
changes (its height may have), and lays it out again when the container's scrollbar comes
or goes and when it scrolls to the end after that layout: three layouts, each a repaint of
the screen, every time the conversation pane opens another conversation. Here the text's
line count is the view's virtual height, set without a layout, and only the visible lines
are turned into strips, when they are drawn. The scrollbar is always there, so it never
changes the layout either (its track takes the background's colour: only the thumb shows).
"""

from __future__ import annotations

from rich.text import Text
from textual.scroll_view import ScrollView
from textual.strip import Strip

from widgets.compositor import KeptLines
from widgets.steady import draws_same, set_virtual_height


class TextView(KeptLines, ScrollView, can_focus=True):
    """Shows one ``Text`` already wrapped to the view's width (one line per ``\\n``)."""

    DEFAULT_CSS = """
    TextView { overflow-x: hidden; overflow-y: scroll; scrollbar-size-vertical: 1;
               scrollbar-background: $background; scrollbar-background-hover: $background;
               scrollbar-background-active: $background; }
    """

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._text = Text("")
        self._lines: list[Text] = []
        self._strips: dict[int, Strip] = {}  # line -> its segments, unstyled and uncropped (any width)

    @property
    def content(self) -> Text:
        """The whole text shown (also the part scrolled out of view)."""
        return self._text

    def update(self, text: Text) -> None:
        """Show ``text``; the scroll position stays where it was (within the new length)."""
        if draws_same(text, self._text):
            return
        self._text = text
        self._lines = text.split("\n", allow_blank=True) if text.plain else []
        if self._lines and not self._lines[-1].plain and text.plain.endswith("\n"):
            self._lines.pop()  # a final newline ends the last line; it is not one more
        self._strips = {}
        set_virtual_height(self, len(self._lines))
        self.refresh()

    def scroll_to_end(self) -> None:
        """Show the last lines: at once, or after the first layout when the view's height is not known yet."""
        if self.container_size:
            self._show_last_lines()
        else:  # once, after the next refresh (a hidden view stays unlaid: no waiting for it)
            self.call_after_refresh(self._show_last_lines)

    def _show_last_lines(self) -> None:
        self.set_scroll(None, max(0, len(self._lines) - self.scrollable_content_region.height))
        self.refresh()

    def scroll_to_start(self) -> None:
        self.set_scroll(None, 0)
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width or self.size.width
        style = self.rich_style
        index = int(self.scroll_offset.y) + y
        if not 0 <= index < len(self._lines):
            return Strip.blank(width, style)
        strip = self._strips.get(index)
        if strip is None:
            line = self._lines[index]
            strip = self._strips[index] = Strip(list(line.render(self.app.console)), line.cell_len)
        return strip.apply_style(style).crop_extend(0, width, style)
