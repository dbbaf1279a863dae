"""The members map: counting per département, shading, and the SVG drawn from the vendored shapes."""

from __future__ import annotations

import re
from xml.etree import ElementTree

import pytest

from app.members import map as members_map
from app.members import shapes as map_shapes
from app.members.map import MapPartner

SVG = "{http://www.w3.org/2000/svg}"


def parsed(markup: str) -> ElementTree.Element:
    """The SVG as XML: it must be well-formed to be inlined in HTML and given to WeasyPrint."""
    return ElementTree.fromstring(markup)


# --- counting ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "codes"),
    [
        ("93", ("93",)),
        ("94/91", ("94", "91")),
        ("91/77", ("91", "77")),
        ("Paris (75)", ("75",)),
        ("IDF", ()),
        ("", ()),
        ("60", ()),  # Oise: outside Île-de-France
        ("750", ()),  # not a département code
        ("93 / 93", ("93",)),
    ],
)
def test_departements_of_reads_the_ile_de_france_codes_in_free_text(
    text: str, codes: tuple[str, ...]
) -> None:
    assert members_map.departements_of(text) == codes


@pytest.mark.parametrize(
    ("total", "parts", "shares"), [(121, 2, [61, 60]), (120, 2, [60, 60]), (10, 3, [4, 3, 3]), (0, 2, [0, 0])]
)
def test_split_evenly_keeps_the_total(total: int, parts: int, shares: list[int]) -> None:
    assert members_map.split_evenly(total, parts) == shares
    assert sum(shares) == total


def test_tally_splits_a_partner_of_two_departements_evenly_and_lists_it_in_both() -> None:
    result = members_map.tally(
        [
            MapPartner("EPT 12", "94/91", 121),
            MapPartner("Atout PLIE", "91", 150),
            MapPartner("GPSEA", "94", 150),
        ]
    )
    by_code = {d.code: d for d in result.departements}

    assert by_code["94"].participants == 61 + 150
    assert by_code["91"].participants == 60 + 150
    assert [p.name for p in by_code["94"].partners] == ["EPT 12", "GPSEA"]
    assert [p.name for p in by_code["91"].partners] == ["EPT 12", "Atout PLIE"]
    shared = by_code["91"].partners[0]
    assert shared.shared
    assert shared.participants == 60
    assert shared.departement == "94/91"
    assert result.placed_participants == 121 + 150 + 150


def test_tally_leaves_withdrawn_partners_out_and_regional_ones_off_the_map() -> None:
    result = members_map.tally(
        [
            MapPartner("URTIE", "IDF", 0),
            MapPartner("Retiré", "93", 500, active=False),
            MapPartner("Sevran", "93", 120),
            MapPartner("Oise", "60", 30),
        ]
    )
    by_code = {d.code: d for d in result.departements}

    assert by_code["93"].participants == 120
    assert [p.name for p in by_code["93"].partners] == ["Sevran"]
    assert [p.name for p in result.elsewhere] == ["URTIE", "Oise"]
    assert result.elsewhere_participants == 30
    assert [d.code for d in result.departements] == ["75", "77", "78", "91", "92", "93", "94", "95"]


# --- shading -------------------------------------------------------------------------------------


def test_shading_classes_are_round_ranges_covering_the_largest_count() -> None:
    classes = members_map.shading_classes(600)

    assert [(c.low, c.high) for c in classes] == [(1, 200), (201, 400), (401, 600)]
    assert [c.label for c in classes] == ["1 à 200", "201 à 400", "401 à 600"]
    assert members_map.shading_classes(0) == ()
    assert [(c.low, c.high) for c in members_map.shading_classes(3)] == [(1, 1), (2, 2), (3, 3)]
    assert members_map.shading_classes(1234)[-1].high >= 1234


def test_shade_gives_empty_departements_the_neutral_fill_and_dark_text_on_light_fills() -> None:
    classes = members_map.shading_classes(600)

    assert members_map.shade(0, classes) == (members_map.EMPTY_FILL, members_map.DARK_TEXT)
    assert members_map.shade(150, classes) == (classes[0].fill, members_map.DARK_TEXT)
    assert members_map.shade(600, classes) == (classes[2].fill, members_map.LIGHT_TEXT)


# --- shapes --------------------------------------------------------------------------------------


def test_parse_path_follows_relative_and_absolute_lines() -> None:
    rings = map_shapes.parse_path("m 10,10 5,0 0,5 z M 0 0 L 2 0 H 2 V 2 z")

    assert rings == (
        ((10.0, 10.0), (15.0, 10.0), (15.0, 15.0)),
        ((0.0, 0.0), (2.0, 0.0), (2.0, 0.0), (2.0, 2.0)),
    )


def test_parse_path_refuses_curves_rather_than_drawing_them_wrong() -> None:
    with pytest.raises(ValueError, match="non prise en charge"):
        map_shapes.parse_path("M 0 0 C 1 1 2 2 3 3 z")


def test_the_eight_departements_are_read_from_the_vendored_file_once_per_process() -> None:
    shapes = map_shapes.shapes()

    assert map_shapes.SOURCE.is_file()
    assert [shape.code for shape in shapes] == ["75", "77", "78", "91", "92", "93", "94", "95"]
    assert map_shapes.shapes() is shapes
    assert (map_shapes.SOURCE.parent / "LICENSE.md").read_text(encoding="utf-8").count("Attribution 4.0") >= 1


def test_each_label_sits_inside_its_departement() -> None:
    for shape in map_shapes.shapes():
        ring = max(shape.rings, key=len)
        x, y = shape.label_at
        crossings = sum(
            1
            for (x1, y1), (x2, y2) in zip(ring, ring[1:] + ring[:1], strict=True)
            if (y1 > y) != (y2 > y) and x < (x2 - x1) * (y - y1) / (y2 - y1) + x1
        )
        assert crossings % 2 == 1, f"l'étiquette du {shape.code} est hors de son département"


# --- drawing -------------------------------------------------------------------------------------


def demo_map() -> members_map.MembersMap:
    return members_map.tally(
        [
            MapPartner("URTIE", "IDF", 0),
            MapPartner("Sevran", "93", 600),
            MapPartner("EPT 12", "94/91", 210),
            MapPartner("EPEC", "75", 240),
        ]
    )


def test_the_svg_draws_every_departement_with_its_number_and_a_legend() -> None:
    svg = parsed(members_map.render_svg(demo_map()))
    texts = [text.text for text in svg.iter(f"{SVG}text")]

    assert len(list(svg.iter(f"{SVG}path"))) == 8
    for code in members_map.DEPARTEMENTS:
        assert code in texts
    assert "600" in texts
    assert "240" in texts
    assert "105" in texts
    assert "Participants engagés par département" in texts
    assert "aucun" in texts
    assert "401 à 600" in texts
    assert any(text and "répartis à parts égales" in text for text in texts)
    assert any(text and "CC BY 4.0" in text for text in texts)
    assert svg.findtext(f"{SVG}title") == "Carte des membres en Île-de-France"


def test_the_svg_uses_attributes_and_explicit_fonts_never_style() -> None:
    markup = str(members_map.render_svg(demo_map()))
    svg = parsed(markup)

    assert "style=" not in markup
    assert "<style" not in markup
    assert "<script" not in markup
    for text in svg.iter(f"{SVG}text"):
        assert text.get("font-family", "").startswith("DejaVu Sans")
    fills = {path.get("fill") for path in svg.iter(f"{SVG}path")}
    assert members_map.EMPTY_FILL in fills
    assert len(fills) > 1


def test_the_viewbox_frames_the_drawing() -> None:
    svg = parsed(members_map.render_svg(demo_map()))
    _x, _y, width, height = (float(value) for value in (svg.get("viewBox") or "").split())

    assert width == members_map.WIDTH
    assert 400 < height < 900
    for text in svg.iter(f"{SVG}text"):
        assert 0 <= float(text.get("y", "0")) <= height


def test_departements_link_to_the_text_table_unless_asked_not_to() -> None:
    linked = parsed(members_map.render_svg(demo_map(), id_prefix="carte"))
    plain = str(members_map.render_svg(demo_map(), link_prefix=None, attribution=False))

    hrefs = [a.get("href") for a in linked.iter(f"{SVG}a")]
    assert hrefs == [f"#carte-{code}" for code in members_map.DEPARTEMENTS]
    assert "<a " not in plain
    assert "CC BY 4.0" not in plain


def test_markup_and_emoji_in_a_partner_name_are_shown_literally_in_the_svg() -> None:
    hostile = '"><script>alert(1)</script> {{7*7}} PLIE 🚀'
    markup = str(members_map.render_svg(members_map.tally([MapPartner(hostile, "93", 10)])))
    svg = parsed(markup)

    assert "<script>" not in markup
    titles = [title.text or "" for title in svg.iter(f"{SVG}title")]
    assert any(hostile in title for title in titles)
    assert re.search(r"&lt;script&gt;", markup)
    assert "🚀" in markup
