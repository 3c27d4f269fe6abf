"""Pane parts that redraw only when what they show changes, and without a layout when they can.

``Static.update`` and rebuilding an ``OptionList`` lay out the whole screen, and a layout is
a full repaint: 50–130 ms on a machine busy with a first sync. The panes re-read the open
conversation and its customer after every burst a sync stores, and nearly always find the
same thing; these widgets make that re-read cost a comparison instead of a frame.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.widgets import OptionList, Static
from textual.visual import visualize
from textual.widgets.option_list import Option


def draws_same(a: object, b: object) -> bool:
    """Whether two contents draw the same (rich's ``Text ==`` ignores the base style and wrapping)."""
    if isinstance(a, Text) and isinstance(b, Text):
        return (a.plain, a.spans, str(a.style), a.no_wrap, a.justify, a.overflow, a.end) == \
               (b.plain, b.spans, str(b.style), b.no_wrap, b.justify, b.overflow, b.end)
    return type(a) is type(b) and isinstance(a, str) and a == b


def set_virtual_height(view: ScrollView, height: int) -> None:
    """Give a line-by-line view a new height: only its scrollbar moves. Setting ``virtual_size``
    plainly lays out the whole screen, a full repaint (50–110 ms on a busy machine); the
    scrollbar appearing or going still does, through its own reactive."""
    size = Size(0, height)
    if size == view.virtual_size:
        return
    if not view.container_size:  # not laid out yet: the first layout takes it
        view.virtual_size = size
        return
    view.set_reactive(ScrollView.virtual_size, size)
    view._scroll_update(size)
    view.refresh()


class SteadyStatic(Static):
    """A Static whose ``update`` with the content it already shows does nothing, and whose new
    content of the same height repaints it without a layout."""

    def update(self, content="", *, layout: bool = True) -> None:
        if draws_same(self.content, content):
            return
        super().update(content, layout=layout and not self._keeps_height(content))

    def _keeps_height(self, content) -> bool:
        """Whether ``content`` fills exactly the lines the widget has now (auto height, laid out)."""
        styles = self.styles
        width = self.content_region.width
        if not width or (styles.width is not None and styles.width.is_auto):
            return False
        if styles.height is None or not styles.height.is_auto:
            return True  # the layout gives it its height; content does not change it
        return visualize(self, content, markup=self._render_markup).get_height(styles, width) == \
            self.content_region.height


class SteadyOptionList(OptionList):
    """An OptionList whose options are replaced only when their prompts or ids differ."""

    def replace_options(self, options: Sequence[Option]) -> bool:
        """Show ``options`` (True), or keep the ones shown because they are the same (False)."""
        shown = self.options
        if len(shown) == len(options) and all(
                a.id == b.id and a.disabled == b.disabled and draws_same(a.prompt, b.prompt) for a, b in zip(shown, options)):
            return False
        self.clear_options()
        self.add_options(options)
        return True
