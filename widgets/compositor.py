"""A compositor that renders, for a partial update, only the lines the update covers.

Textual's compositor answers a partial update (two inbox lines after a step) by
rendering every widget that overlaps the update's bounding box over its whole height,
line filters included, and then keeps only the updated lines: on the main screen that
is eight widgets of ~50 lines for a two-line change, most of a step's work. Lines are
independent, so each widget is asked here for the band of lines the update spans and
nothing else. Columns are not cropped: the compositor cuts each line at widget edges,
and a strip must start at one.
"""

from __future__ import annotations

from collections.abc import Iterable

from textual._compositor import Compositor
from textual.geometry import Region
from textual.strip import Strip


class LineCompositor(Compositor):
    def _get_renders(self, crop: Region | None = None) -> Iterable[tuple[Region, Region, list[Strip]]]:
        if crop is None:
            yield from super()._get_renders(None)
            return
        for widget, (region, clip) in self.visible_widgets.items():
            shown = region.intersection(clip).intersection(Region(region.x, crop.y, region.width, crop.height))
            if shown.height and shown.x < crop.right and shown.right > crop.x:
                yield region, shown, widget.render_lines(shown.translate((-region.x, -region.y)))
