"""The look of every chart: the colour-blind-safe palette, the tier colours, the Altair theme.

Defined once here and used by every chart builder and by the program explorer: the
Okabe & Ito (2008) palette, the colours of the IMG-friendliness tiers (grey for closed, then
vermillion to blue; the tiers themselves are `analysis.model.friendliness.TIERS`), the
timeline's category colours, and the `imgmatch` Altair theme (readable sizes, quiet grid),
registered and enabled when this module is imported.
"""

from __future__ import annotations

import altair as alt

from analysis.model.friendliness import TIERS

__all__ = [
    "CATEGORY_COLORS",
    "FONT",
    "OKABE_ITO",
    "TIER_COLORS",
    "TIER_ORDER",
    "imgmatch_theme",
    "tier_scale",
]

OKABE_ITO = (
    "#0072B2",  # blue
    "#E69F00",  # orange
    "#009E73",  # bluish green
    "#D55E00",  # vermillion
    "#56B4E9",  # sky blue
    "#CC79A7",  # reddish purple
    "#F0E442",  # yellow (weak contrast on white: late in the order)
    "#000000",  # black
)
"""Okabe & Ito (2008) colour-blind-safe palette, in the order categories receive it."""

GREY = "#8C8C8C"
LIGHT_GREY = "#E3E3E3"
INK = "#333333"
BLUE, ORANGE, GREEN, VERMILLION, SKY, PURPLE = OKABE_ITO[:6]

TIER_ORDER = TIERS
"""The friendliness tiers, least to most friendly (defined by `analysis.model.friendliness`)."""

TIER_COLORS = (GREY, VERMILLION, ORANGE, SKY, BLUE)
"""Tier colours: grey for closed, then vermillion (least) to blue (most IMG-friendly)."""

CATEGORY_COLORS = {
    "preparation": PURPLE,
    "exam": VERMILLION,
    "rotation": GREEN,
    "application": BLUE,
    "interviews": ORANGE,
    "match": "#000000",
}
"""Timeline category colours; unknown categories get the remaining palette colours."""

FONT = '"Source Sans 3", "Segoe UI", "Helvetica Neue", Arial, "Liberation Sans", sans-serif'


@alt.theme.register("imgmatch", enable=True)
def imgmatch_theme() -> alt.theme.ThemeConfig:
    """The `imgmatch` Altair theme: readable sizes, Okabe-Ito colours, quiet grid."""
    return {
        "config": {
            "font": FONT,
            "view": {"continuousWidth": 560, "continuousHeight": 320, "stroke": None},
            "padding": 8,
            "title": {
                "fontSize": 17,
                "fontWeight": 600,
                "subtitleFontSize": 13,
                "subtitleColor": "#555555",
                "subtitlePadding": 6,
                "anchor": "start",
                "offset": 14,
                "color": "#111111",
            },
            "axis": {
                "labelFontSize": 12,
                "titleFontSize": 13,
                "titleFontWeight": 600,
                "labelColor": INK,
                "titleColor": INK,
                "gridColor": "#EBEBEB",
                "domainColor": "#9A9A9A",
                "tickColor": "#9A9A9A",
                "labelLimit": 280,
                "titlePadding": 10,
            },
            "legend": {
                "labelFontSize": 12,
                "titleFontSize": 13,
                "titleFontWeight": 600,
                "labelLimit": 260,
                "symbolSize": 110,
            },
            "header": {"labelFontSize": 13, "titleFontSize": 13, "labelFontWeight": 600},
            "range": {"category": list(OKABE_ITO)},
            "text": {"fontSize": 12, "color": INK},
            "point": {"size": 70, "filled": True},
            "line": {"strokeWidth": 2.5},
        }
    }


def tier_scale() -> alt.Scale:
    """The colour scale of the friendliness tiers (`TIER_ORDER` -> `TIER_COLORS`)."""
    return alt.Scale(domain=list(TIER_ORDER), range=list(TIER_COLORS))
