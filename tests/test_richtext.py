"""The one HTML sanitiser, the visible length of a text and its plain-text form."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.richtext import html_to_text, sanitize_html, visible_length

# X1: the classic payloads; none may leave anything executable behind.
HOSTILE = [
    "<script>alert(1)</script><p>ok</p>",
    '<img src="x" onerror="alert(1)"><p>ok</p>',
    "<svg onload=alert(1)><text>hi</text></svg><p>ok</p>",
    '<a href="javascript:alert(1)">lien</a>',
    '<a href=" JaVaScRiPt:alert(1)">lien</a>',
    '<a href="java&#x09;script:alert(1)">lien</a>',
    '<a href="data:text/html,<script>alert(1)</script>">lien</a>',
    '<a href="vbscript:msgbox(1)">lien</a>',
    '<p onclick="alert(1)" style="color:red">texte</p>',
    "<style>p { display: none }</style><p>visible</p>",
    '<iframe src="https://evil.example"></iframe><p>ok</p>',
    '<object data="x.swf"><p>fallback</p></object><p>ok</p>',
    "<math><mtext><script>alert(1)</script></mtext></math><p>ok</p>",
    "<!-- <script>alert(1)</script> --><p>ok</p>",
    "<p>a<scr<script>x</script>ipt>alert(1)</script>b</p>",
    "<body onload=alert(1)><p>ok</p>",
    '<table background="javascript:alert(1)"><tr><td>x</td></tr></table>',
]


@pytest.mark.parametrize("html", HOSTILE)
def test_hostile_html_is_neutralised(html: str) -> None:
    cleaned = sanitize_html(html).lower()
    for dangerous in ("<script", "<svg", "<img", "<iframe", "<object", "<style", "<math", "<body"):
        assert dangerous not in cleaned
    for dangerous in (
        "onerror",
        "onload",
        "onclick",
        "javascript",
        "vbscript",
        "data:",
        "style=",
        "background",
    ):
        assert dangerous not in cleaned


def test_script_and_style_contents_are_removed_not_kept_as_text() -> None:
    cleaned = sanitize_html("<p>avant</p><script>var secret = 1;</script><style>.x{}</style><p>après</p>")
    assert cleaned == "<p>avant</p><p>après</p>"


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        ("<script>alert(1)</script><p>ok</p>", "<p>ok</p>"),
        ('<img src="x" onerror="alert(1)"><p>ok</p>', "<p>ok</p>"),
        ("<svg onload=alert(1)><text>hi</text></svg><p>ok</p>", "<p>ok</p>"),
        ('<a href="javascript:alert(1)">lien</a>', '<a rel="noopener noreferrer">lien</a>'),
        ('<a href="//evil.example/">lien</a>', '<a rel="noopener noreferrer">lien</a>'),
        ('<p onclick="alert(1)" style="color:red" class="x" id="y">texte</p>', "<p>texte</p>"),
        ('<form action="https://evil.example"><input name="q"><button>Go</button></form>', "Go"),
    ],
)
def test_hostile_html_gives_exactly_the_safe_part(html: str, expected: str) -> None:
    assert sanitize_html(html) == expected


def test_every_allowed_tag_is_kept() -> None:
    html = (
        "<h3>Titre</h3><h4>Sous-titre</h4><p>Un <strong>gras</strong>, un <em>italique</em>, "
        "un <u>souligné</u>, un <s>barré</s>.<br>Ligne</p><ul><li>un</li></ul><ol><li>deux</li></ol>"
        "<blockquote>citation</blockquote><table><thead><tr><th>A</th></tr></thead>"
        "<tbody><tr><td>1</td></tr></tbody></table>"
    )
    assert sanitize_html(html) == html


def test_generic_attributes_are_removed() -> None:
    assert sanitize_html('<p title="t" lang="fr" dir="rtl">texte</p>') == "<p>texte</p>"


def test_other_tags_are_removed_but_their_text_kept() -> None:
    assert sanitize_html("<div><span>texte</span> <h1>titre</h1> <b>gras</b></div>") == "texte titre gras"


def test_links_keep_only_href_with_allowed_schemes_and_get_rel() -> None:
    html = (
        '<a href="https://exemple.fr/a?b=1&amp;c=2" target="_blank" rel="opener" title="t">site</a> '
        '<a href="http://exemple.fr">http</a> <a href="mailto:contact@plie.fr">mail</a> '
        '<a href="ftp://exemple.fr">ftp</a> <a href="/relatif">relatif</a>'
    )
    assert sanitize_html(html) == (
        '<a href="https://exemple.fr/a?b=1&amp;c=2" rel="noopener noreferrer">site</a> '
        '<a href="http://exemple.fr" rel="noopener noreferrer">http</a> '
        '<a href="mailto:contact@plie.fr" rel="noopener noreferrer">mail</a> '
        '<a rel="noopener noreferrer">ftp</a> <a rel="noopener noreferrer">relatif</a>'
    )


def test_control_characters_are_removed_even_as_character_references() -> None:
    assert sanitize_html("<p>a\x00b\x01c\x7fd\x9fe&#1;f</p>") == "<p>abcdef</p>"


def test_line_breaks_and_tabs_are_kept() -> None:
    assert sanitize_html("<p>a</p>\n<p>b\tc</p>") == "<p>a</p>\n<p>b\tc</p>"


def test_emoji_rtl_and_decomposed_letters_are_intact() -> None:
    # X4: nothing normalised, nothing dropped (the zero-width joiner belongs to the emoji).
    nfd = unicodedata.normalize("NFD", "Café élève")
    html = f"<p>👩🏽‍💻 Équipe 🎉 — مرحبا بكم — שלום — {nfd}</p>"
    assert sanitize_html(html) == html


def test_unclosed_tags_are_closed() -> None:
    assert sanitize_html("<p>texte <strong>gras") == "<p>texte <strong>gras</strong></p>"


def test_entities_are_normalised_once() -> None:
    assert sanitize_html("<p>a &amp; b &lt;c&gt; &eacute; &#233;</p>") == "<p>a &amp; b &lt;c&gt; é é</p>"


IDEMPOTENCE_CORPUS = [
    *HOSTILE,
    "<p>texte <strong>gras",
    "<table><tr><td>1</td></tr></table>",
    "<td>cellule seule</td><li>item seul</li>",
    "<a>sans lien</a>",
    '<a href="https://x.fr?a=1&b=2">x</a>',
    "<p>&nbsp;&lt;&gt;&amp;&quot;&#39;</p>",
    "<textarea><p>x</p></textarea>",
    "<xmp><script></xmp>",
    "<p>a\r\nb\rc</p>",
    "<ul><li>un<ul><li>deux</li></ul></li></ul>",
    "<p><p><p>imbriqués</p></p></p>",
    "<blockquote><blockquote>deux niveaux</blockquote></blockquote>",
    "<noscript><p>x</p></noscript>",
    "<template><p>x</p></template>y",
    "</p>fermeture orpheline<p>",
    "<p>a<br/>b<br>c</br></p>",
    "<A><TABLE><A>",  # one cleaning pass is not a fixed point here (found by hypothesis)
    "<a><table><a><table><a>x",
]


@pytest.mark.parametrize("html", IDEMPOTENCE_CORPUS)
def test_sanitising_is_idempotent(html: str) -> None:
    once = sanitize_html(html)
    assert sanitize_html(once) == once


TAGS = [
    *("p", "br", "strong", "em", "a", "li", "ul", "ol", "h3", "blockquote"),
    *("table", "thead", "tbody", "tr", "th", "td"),
    *("script", "style", "div", "svg", "math", "img", "template", "select", "form", "textarea", "xmp"),
]
FRAGMENTS = ['<a href="https://x.fr">', '<a href="javascript:x">', "&amp;", "&lt;", "&#0;", "<!--", "<", "</"]


@settings(max_examples=500, database=None, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.text(max_size=8),
            st.sampled_from(TAGS).map(lambda tag: f"<{tag}>"),
            st.sampled_from(TAGS).map(lambda tag: f"</{tag}>"),
            st.sampled_from(FRAGMENTS),
        ),
        max_size=30,
    ).map("".join)
)
def test_sanitising_any_input_is_idempotent(html: str) -> None:
    once = sanitize_html(html)
    assert sanitize_html(once) == once
    assert "\x00" not in once


def test_visible_length_ignores_tags_and_counts_an_entity_as_one() -> None:
    assert visible_length("<p><strong>abc</strong> &amp; <em>d</em></p>") == len("abc & d")


def test_visible_length_collapses_whitespace_and_trims() -> None:
    assert visible_length("<p>  a  \n\t b&nbsp;&nbsp;c  </p>") == len("a b c")


def test_visible_length_separates_paragraphs_and_lines_by_one_space() -> None:
    assert visible_length("<p>un</p><p>deux</p>trois<br>quatre") == len("un deux trois quatre")


def test_visible_length_counts_a_decomposed_letter_once() -> None:
    assert visible_length(unicodedata.normalize("NFD", "<p>élève</p>")) == 5


def test_visible_length_does_not_count_link_addresses_or_scripts() -> None:
    assert visible_length('<a href="https://exemple.fr">site</a><script>var x;</script>') == 4


def test_visible_length_of_empty_text_is_zero() -> None:
    assert visible_length("") == 0
    assert visible_length("<p> </p><p></p>") == 0


def test_html_to_text_keeps_paragraphs_lines_lists_tables_and_links() -> None:
    html = (
        "<h3>Objet</h3><p>Bonjour <strong>Anne</strong>,</p><p>voici<br>la suite &amp; fin.</p>"
        "<ul><li>un</li><li>deux<ul><li>deux bis</li></ul></li></ul>"
        '<p>Voir <a href="https://exemple.fr">le site</a> ou <a href="mailto:a@b.fr">a@b.fr</a>.</p>'
        "<table><tr><th>A</th><th>B</th></tr><tr><td>1</td><td>2</td></tr></table>"
    )
    assert html_to_text(html) == (
        "Objet\n\nBonjour Anne,\n\nvoici\nla suite & fin.\n\n- un\n- deux\n  - deux bis\n\n"
        "Voir le site (https://exemple.fr) ou a@b.fr.\n\nA\tB\n1\t2"
    )


def test_html_to_text_treats_source_line_breaks_as_spaces_and_keeps_non_breaking_ones() -> None:
    assert html_to_text("<p>Bonjour\n  Anne,\r\nça va\u00a0?</p>") == "Bonjour Anne, ça va\u00a0?"


def test_html_to_text_drops_script_contents() -> None:
    assert html_to_text("<p>a</p><script>alert(1)</script><p>b</p>") == "a\n\nb"
