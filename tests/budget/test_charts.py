"""Charts of the financing plan: static, accessible SVG that CSP and WeasyPrint accept."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest

from app.budget import charts

SVG = "{http://www.w3.org/2000/svg}"
SERIES = [charts.Series("personnel", "Personnel"), charts.Series("fonctionnement", "Fonctionnement")]


def parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)


def all_charts(label: str = "PLIE de Sevran") -> list[str]:
    rows = [(label, {"personnel": Decimal("1000.00"), "fonctionnement": Decimal("250.50")})]
    return [
        charts.stacked_bars("a", "Titre A", "Description A", SERIES, rows),
        charts.bars("b", "Titre B", "Description B", [(label, Decimal("5000.00")), ("Autre", Decimal("0"))]),
        charts.grouped_columns("c", "Titre C", "Description C", SERIES, [("2020", rows[0][1])]),
    ]


@pytest.mark.parametrize("index", [0, 1, 2])
def test_each_chart_is_well_formed_svg_with_title_and_description_for_screen_readers(index: int) -> None:
    root = parse(all_charts()[index])

    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    title_id, desc_id = root.get("aria-labelledby", "").split()
    assert root.find(f"{SVG}title").get("id") == title_id  # type: ignore[union-attr]
    assert root.find(f"{SVG}desc").get("id") == desc_id  # type: ignore[union-attr]
    assert root.find(f"{SVG}title").text.startswith("Titre")  # type: ignore[union-attr]


@pytest.mark.parametrize("index", [0, 1, 2])
def test_charts_use_no_style_script_or_css_that_the_csp_would_block(index: int) -> None:
    markup = all_charts()[index]
    root = parse(markup)

    for element in root.iter():
        assert "style" not in element.attrib
        assert element.tag not in (f"{SVG}script", f"{SVG}style", f"{SVG}foreignObject")
        assert not any(name.startswith("on") for name in element.attrib)
    assert "javascript:" not in markup


@pytest.mark.parametrize("index", [0, 1, 2])
def test_every_text_names_its_font_for_the_pdf_renderer(index: int) -> None:
    texts = list(parse(all_charts()[index]).iter(f"{SVG}text"))

    assert texts
    assert all(text.get("font-family") == charts.FONT for text in texts)


def test_organisation_names_with_markup_and_emoji_are_escaped_and_shown_literally() -> None:
    hostile = '<script>alert("x")</script> & Co 🎉'

    for markup in all_charts(hostile)[:2]:
        root = parse(markup)  # would fail on a raw "<script>"
        assert "<script>" not in markup
        shown = [text.text or "" for text in root.iter(f"{SVG}text")]
        assert any(text.startswith('<script>alert("x")') for text in shown)


def test_each_series_has_its_own_pattern_so_colour_is_not_the_only_cue() -> None:
    root = parse(all_charts()[0])

    patterns = root.findall(f"{SVG}defs/{SVG}pattern")
    assert [pattern.get("id") for pattern in patterns] == ["a-p0", "a-p1"]
    drawings = [[ET.tostring(child) for child in pattern] for pattern in patterns]
    assert drawings[0] != drawings[1]
    fills = {rect.get("fill") for rect in root.iter(f"{SVG}rect")}
    assert {"url(#a-p0)", "url(#a-p1)"} <= fills
    legend = [text.text for text in root.iter(f"{SVG}text")]
    assert "Personnel" in legend
    assert "Fonctionnement" in legend


def test_values_are_written_next_to_the_bars() -> None:
    stacked, bars, columns = (parse(markup) for markup in all_charts())

    assert "1\u00a0k€" in [text.text for text in stacked.iter(f"{SVG}text")]  # 1 250,50 € in total
    assert "5\u00a0k€" in [text.text for text in bars.iter(f"{SVG}text")]
    assert "0\u00a0€" in [text.text for text in bars.iter(f"{SVG}text")]
    assert {"1\u00a0k€", "251\u00a0€"} <= {text.text for text in columns.iter(f"{SVG}text")}


def test_the_longest_bar_takes_the_whole_span_and_others_are_proportional() -> None:
    root = parse(
        charts.bars("b", "T", "D", [("Grand", Decimal("1000")), ("Petit", Decimal("250"))], width=900)
    )

    bars = [
        float(rect.get("width", 0))
        for rect in root.iter(f"{SVG}rect")
        if (rect.get("fill") or "").startswith("url(#b-p")
    ]
    assert bars[0] == pytest.approx(900 - 300 - 110)
    assert bars[0] == pytest.approx(4 * bars[1])


def test_charts_without_any_amount_still_render() -> None:
    empty = [
        charts.stacked_bars("a", "T", "D", SERIES, []),
        charts.bars("b", "T", "D", []),
        charts.grouped_columns("c", "T", "D", SERIES, []),
        charts.bars("d", "T", "D", [("Zéro", Decimal("0"))]),
    ]

    for markup in empty:
        assert parse(markup).get("role") == "img"


@pytest.mark.parametrize(
    ("amount", "shown"),
    [
        (Decimal("0"), "0\u00a0€"),
        (Decimal("980.40"), "980\u00a0€"),
        (Decimal("456789.00"), "457\u00a0k€"),
        (Decimal("3912378.00"), "3,91\u00a0M€"),
        (Decimal("12345678901.00"), "12\u202f345,68\u00a0M€"),
    ],
)
def test_short_amounts_are_french(amount: Decimal, shown: str) -> None:
    assert charts.short_amount(amount) == shown


def test_long_labels_are_cut_with_an_ellipsis_but_kept_whole_in_the_tooltip() -> None:
    name = "Établissement public territorial avec un nom vraiment très long"
    root = parse(charts.stacked_bars("a", "T", "D", SERIES, [(name, {"personnel": Decimal("10")})]))

    texts = [text.text or "" for text in root.iter(f"{SVG}text")]
    assert any(text.endswith("…") and len(text) <= charts.MAX_LABEL for text in texts)
    tooltips = [title.text or "" for title in root.iter(f"{SVG}title")]
    assert any(tooltip.startswith(name) for tooltip in tooltips)
