"""Painting only what changed: a compositor, a styles cache and a scrollbar that skip Textual's repeats.

Textual's compositor answers a partial update (two inbox lines after a step) by
rendering every widget that overlaps the update's bounding box over its whole height,
line filters included, and then keeps only the updated lines: on the main screen that
is eight widgets of ~50 lines for a two-line change, most of a step's work. The
:class:`LineCompositor` makes two cuts:

- Lines are independent, so each widget is asked only for the band of lines the update
  spans. Columns are not cropped: the compositor cuts each line at widget edges, and a
  strip must start at one.
- Widgets are painted front to back and the first strip for a cell wins (there is no
  blending at this stage), so a widget whose part of the update is wholly covered by
  widgets already painted (the screen and the containers under the inbox after a half
  page) would be rendered only to be thrown away: it is not asked at all.

What a half page still asks for, the inbox and its scrollbar, is mostly lines drawn
before: :class:`RowStylesCache` and :class:`LineScrollBar` keep them.
"""

from __future__ import annotations

from collections.abc import Iterable

from rich.color import Color
from rich.segment import Segment
from textual._compositor import Compositor
from textual._styles_cache import StylesCache
from textual.cache import LRUCache
from textual.geometry import Region
from textual.scrollbar import ScrollBar, ScrollBarRender
from textual.strip import Strip


def covered(area: Region, painted: list[Region]) -> bool:
    """Whether every cell of ``area`` lies in one of the ``painted`` regions."""
    parts = [part for region in painted if (part := area.intersection(region))]
    if not parts:
        return False
    edges = sorted({area.y, area.bottom, *(p.y for p in parts), *(p.bottom for p in parts)})
    for top, bottom in zip(edges, edges[1:]):
        reach = area.x
        for x, right in sorted((p.x, p.right) for p in parts if p.y <= top and p.bottom >= bottom):
            if x > reach:
                return False
            reach = max(reach, right)
        if reach < area.right:
            return False
    return True


class LineCompositor(Compositor):
    def _get_renders(self, crop: Region | None = None) -> Iterable[tuple[Region, Region, list[Strip]]]:
        if crop is None:
            yield from super()._get_renders(None)
            return
        painted: list[Region] = []
        for widget, (region, clip) in self.visible_widgets.items():
            shown = region.intersection(clip).intersection(Region(region.x, crop.y, region.width, crop.height))
            seen = shown.intersection(crop)
            if not seen or covered(seen, painted):
                continue
            painted.append(seen)
            yield region, shown, widget.render_lines(shown.translate((-region.x, -region.y)))


class RowStylesCache(StylesCache):
    """A widget's styles cache that styles each content strip once, wherever it lands.

    Textual keeps a widget's styled lines by screen row and forgets them all on every
    refresh, so a half page styles, filters and divides all ~50 inbox lines again though
    only the rows that scrolled in are new. For a widget with no border, padding, outline,
    hatch, tint or opacity, styling a line is padding it to the widget's width in its
    background, which depends only on the content strip and the colours: the styled strip is
    kept by the content strip (the widget hands back the same Strip object for an unchanged
    row), and its own filter and divide caches stay warm with it. :meth:`warm` styles lines
    before they are shown (the rows a half page away), so a page finds them ready.
    """

    KEPT = 600  # styled lines: as many as the inbox keeps drawn rows

    def __init__(self) -> None:
        super().__init__()
        self._plain = False
        self._styled: LRUCache[int, tuple[Strip, tuple, Strip]] = LRUCache(self.KEPT)

    @staticmethod
    def plain(styles, opacity: float) -> bool:
        return not (styles.gutter or any(edge for edge, _ in styles.outline) or styles.tint.a
                    or opacity != 1.0 or styles.text_opacity != 1.0
                    or (styles.has_rule("hatch") and styles.hatch != "none"))

    def render(self, styles, size, base_background, background, render_content_line, filters, border_title,
               border_subtitle, content_size=None, padding=None, crop=None, opacity=1.0, **colours) -> list[Strip]:
        self._plain = self.plain(styles, opacity)
        return super().render(styles, size, base_background, background, render_content_line, filters,
                              border_title, border_subtitle, content_size, padding, crop, opacity, **colours)

    def render_line(self, styles, y, size, content_size, padding, base_background, background,
                    render_content_line, *rest) -> Strip:
        if not self._plain:
            return super().render_line(styles, y, size, content_size, padding, base_background, background,
                                       render_content_line, *rest)
        return self._style(render_content_line(y), (size, content_size, base_background, background, *rest[-2:]))

    def _style(self, content: Strip, context: tuple) -> Strip:
        kept = self._styled.get(id(content))
        if kept is not None and kept[0] is content and kept[1] == context:
            return kept[2]
        size, content_size, base_background, background = context[:4]
        inner, _ = self.get_inner_outer(base_background, background)
        styled = Strip(content.adjust_cell_length(content_size.width, inner.rich_style), size.width)
        self._styled.set(id(content), (content, context, styled))  # holding `content` keeps its id unique
        return styled

    def warm(self, widget, contents: Iterable[Strip]) -> None:
        """Style (and filter) content strips of ``widget`` now, as a later frame that shows them would."""
        if not self.plain(widget.styles, widget.opacity):
            return
        base_background, background = widget.background_colors
        app = widget.app
        context = (widget.region.size, widget.content_region.size, base_background, background,
                   app.ansi_theme, app.native_ansi_color)
        filters = widget.get_line_filters()
        for content in contents:
            strip = self._style(content, context)
            for line_filter in filters:
                strip = strip.apply_filter(line_filter, background)


class LineScrollBar(ScrollBar):
    """A vertical scrollbar whose lines are Strip objects kept by what they show.

    Textual's scrollbar renders itself through Rich on every move and styles each of its
    lines again: ~4 ms for a 50-line bar after each half page. The bar is the same few cells
    over and over (track above, thumb, track below, the two partial ends), so each distinct
    cell is one kept strip, and with :class:`RowStylesCache` it is styled once.
    """

    def __init__(self, vertical: bool = True, name: str | None = None, *, thickness: int = 1) -> None:
        super().__init__(vertical, name, thickness=thickness)
        self._styles_cache = RowStylesCache()
        self._drawn: tuple | None = None  # what the bar showed when its lines were made
        self._lines: list[Strip] | None = None
        self._strips: dict[tuple, Strip] = {}

    def render_lines(self, crop: Region) -> list[Strip]:
        self._lines = self._bar_lines()  # once a frame: the thumb may have moved
        return super().render_lines(crop)

    def render_line(self, y: int) -> Strip:
        if self._lines is None or y >= len(self._lines):
            return super().render_line(y)
        return self._lines[y]

    def _bar_lines(self) -> list[Strip] | None:
        """The bar's lines top to bottom, as Textual's renderer draws them; None: let it draw itself."""
        bar = self.render()
        if not (self.vertical and isinstance(bar, ScrollBarRender)):
            return None
        base = self.visual_style.rich_style  # under every cell, as Textual's own drawing puts it
        drawn = (self.size, bar.virtual_size, bar.window_size, bar.position, bar.style, base)
        if drawn == self._drawn and self._lines is not None:
            return self._lines
        style = self.app.console.get_style(bar.style)
        cells = bar.render_bar(size=self.size.height, virtual_size=bar.virtual_size, window_size=bar.window_size,
                               position=bar.position, thickness=self.size.width, vertical=True,
                               back_color=style.bgcolor or Color.parse("#555555"),
                               bar_color=style.color or Color.parse("bright_magenta")).segments
        if len(self._strips) >= 64:
            self._strips.clear()
        lines = []
        for cell in cells:
            key = (cell, self.size.width, base)
            strip = self._strips.get(key)
            if strip is None:
                strip = self._strips[key] = Strip([Segment(cell.text, base + cell.style)], self.size.width)
            lines.append(strip)
        self._drawn = drawn
        return lines


class KeptLines:
    """For a line-by-line view (a ``ScrollView``, listed before it): its styled lines are kept
    (:class:`RowStylesCache`) and so are its scrollbar's (:class:`LineScrollBar`)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._styles_cache = RowStylesCache()  # a line scrolled to another row is not styled again

    @property
    def vertical_scrollbar(self) -> ScrollBar:
        if self._vertical_scrollbar is None:
            self._vertical_scrollbar = bar = LineScrollBar(vertical=True, name="vertical",
                                                           thickness=self.scrollbar_size_vertical)
            bar.display = False
            self.app._start_widget(self, bar)
        return self._vertical_scrollbar
