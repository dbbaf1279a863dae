"""Paragraph-level three-way merge and word-level differences."""

from __future__ import annotations

import pytest

from app.sections.merge import (
    clash_marks,
    diff_html,
    merge_blocks,
    merge_draft,
    merge_texts,
    split_blocks,
    word_diff,
    word_tokens,
)


@pytest.mark.parametrize(
    "html",
    [
        "",
        "texte sans balise",
        "<p>un</p><p>deux</p>",
        "libre <strong>gras</strong><p>a</p>\n<ul><li>1</li><li><ul><li>2</li></ul></li></ul> fin",
        "<p>a<br>b</p><hr><p>c</p>",
        "<table><tbody><tr><td>1</td></tr></tbody></table><h3>Titre</h3>",
        '<p><a href="https://exemple.fr/?a=>b" rel="noopener noreferrer">lien</a></p><p>2</p>',
        "<p>مرحبا 👩‍👩‍👧 שלום</p><blockquote><p>cité</p></blockquote>",
    ],
)
def test_splitting_into_blocks_gives_the_text_back_exactly(html: str) -> None:
    assert "".join(split_blocks(html)) == html


def test_each_top_level_paragraph_list_and_table_is_one_block() -> None:
    html = "<h3>T</h3><p>a <em>b</em></p><ul><li>1</li><li>2</li></ul><table><tr><td>x</td></tr></table>"
    assert split_blocks(html) == [
        "<h3>T</h3>",
        "<p>a <em>b</em></p>",
        "<ul><li>1</li><li>2</li></ul>",
        "<table><tr><td>x</td></tr></table>",
    ]


def test_whitespace_between_blocks_stays_with_the_previous_block() -> None:
    assert split_blocks("<p>a</p>\n<p>b</p>\n") == ["<p>a</p>\n", "<p>b</p>\n"]


BASE = "<p>un</p><p>deux</p><p>trois</p>"


def test_edits_of_different_paragraphs_merge() -> None:
    result = merge_texts(BASE, "<p>UN</p><p>deux</p><p>trois</p>", "<p>un</p><p>deux</p><p>TROIS</p>")
    assert result.text == "<p>UN</p><p>deux</p><p>TROIS</p>"


def test_edits_of_adjacent_paragraphs_merge() -> None:
    result = merge_texts(BASE, "<p>UN</p><p>deux</p><p>trois</p>", "<p>un</p><p>DEUX</p><p>trois</p>")
    assert result.text == "<p>UN</p><p>DEUX</p><p>trois</p>"


def test_edits_of_the_same_paragraph_conflict() -> None:
    result = merge_texts(BASE, "<p>un</p><p>deux !</p><p>trois</p>", "<p>un</p><p>deux ?</p><p>trois</p>")
    assert result.conflict


def test_the_same_change_on_both_sides_is_not_a_conflict() -> None:
    same = "<p>un</p><p>DEUX</p><p>trois</p>"
    assert merge_texts(BASE, same, same).text == same


def test_two_insertions_at_the_same_place_conflict() -> None:
    assert merge_texts(BASE, BASE + "<p>quatre</p>", BASE + "<p>four</p>").conflict


def test_an_insertion_and_an_edit_elsewhere_merge() -> None:
    mine = "<p>zéro</p>" + BASE
    theirs = "<p>un</p><p>deux</p><p>TROIS</p>"
    assert merge_texts(BASE, mine, theirs).text == "<p>zéro</p><p>un</p><p>deux</p><p>TROIS</p>"


def test_a_deletion_and_an_edit_of_another_paragraph_merge() -> None:
    mine = "<p>un</p><p>trois</p>"
    theirs = "<p>UN</p><p>deux</p><p>trois</p>"
    assert merge_texts(BASE, mine, theirs).text == "<p>UN</p><p>trois</p>"


def test_a_deletion_of_a_paragraph_the_other_edited_conflicts() -> None:
    assert merge_texts(BASE, "<p>un</p><p>trois</p>", "<p>un</p><p>DEUX</p><p>trois</p>").conflict


def test_an_insertion_inside_a_replaced_range_conflicts() -> None:
    base = ["a", "b", "c", "d"]
    assert merge_blocks(base, ["a", "b", "X", "c", "d"], ["a", "B", "C", "d"]).conflict


def test_one_side_unchanged_takes_the_other_side() -> None:
    other = "<p>tout</p><p>autre</p>"
    assert merge_texts(BASE, BASE, other).text == other
    assert merge_texts(BASE, other, BASE).text == other


def test_merge_from_an_empty_base() -> None:
    assert merge_texts("", "<p>a</p>", "<p>b</p>").conflict
    assert merge_texts("", "<p>a</p>", "").text == "<p>a</p>"


def test_words_keep_their_accents_apostrophes_and_hyphens() -> None:
    assert word_tokens("L’État, aujourd'hui : peut-être.") == [
        "L’État",
        ",",
        " ",
        "aujourd'hui",
        " ",
        ":",
        " ",
        "peut-être",
        ".",
    ]


def test_word_diff_compares_the_visible_text_only() -> None:
    pieces = word_diff("<p>Le <strong>public</strong> visé.</p>", "<p>Le public visé.</p>")
    assert [piece.kind for piece in pieces] == ["equal"]


def test_word_diff_shows_a_changed_word_and_punctuation() -> None:
    pieces = word_diff("<p>Nous avons dit : bonjour.</p>", "<p>Nous n’avons pas dit : bonjour !</p>")
    changes = [(piece.kind, piece.text) for piece in pieces if piece.kind != "equal"]
    assert ("delete", "avons") in changes
    assert ("insert", "n’avons pas") in changes
    assert ("delete", ".") in changes


def test_diff_html_escapes_text_and_marks_changes_in_words() -> None:
    html = diff_html(word_diff("<p>a &lt;b&gt;</p>", "<p>a &lt;c&gt;</p>"))
    assert "&lt;" in html
    assert "<b>" not in html
    assert '<del><span class="visually-hidden">[suppression : </span>b' in html
    assert '<ins><span class="visually-hidden">[ajout : </span>c' in html


# --- the draft a merge by hand starts from ----------------------------------------------------

OPENING = "<p>Le PLIE accueille les publics éloignés de l'emploi.</p>"


def test_a_merge_draft_holds_each_sides_separate_changes_once_and_marks_the_clash() -> None:
    base = OPENING + "<p>Deux.</p><p>Trois.</p><p>Quatre.</p>"
    mine = OPENING + "<p>Deux, selon moi.</p><p>Trois.</p><p>Quatre.</p><p>Ma conclusion.</p>"
    theirs = OPENING + "<p>Deux, selon eux.</p><p>Trois.</p><p>Quatre, précisé.</p>"

    draft = merge_draft(base, mine, theirs)

    assert draft.clashes == 1
    assert draft.text.count(OPENING) == 1  # never the two texts one after the other
    assert draft.text == (
        OPENING
        + "<p><strong>⟦ Conflit 1 : version enregistrée par les autres ⟧</strong></p>"
        + "<p>Deux, selon eux.</p>"
        + "<p><strong>⟦ Conflit 1 : votre version ⟧</strong></p>"
        + "<p>Deux, selon moi.</p>"
        + "<p><strong>⟦ Fin du conflit 1 ⟧</strong></p>"
        + "<p>Trois.</p><p>Quatre, précisé.</p><p>Ma conclusion.</p>"
    )
    assert clash_marks(draft.text) == 3


def test_two_insertions_at_the_same_place_are_one_clash_with_both_paragraphs() -> None:
    mine = OPENING + "<p>La coordination précise.</p>"
    theirs = OPENING + "<p>Sevran accueille.</p>"

    draft = merge_draft(OPENING, mine, theirs)

    assert draft.clashes == 1
    assert draft.text.count("La coordination précise.") == 1
    assert draft.text.count("Sevran accueille.") == 1
    assert draft.text.index("Sevran accueille.") < draft.text.index("La coordination précise.")


def test_changes_clashing_through_each_other_are_one_clash_and_separate_ones_are_numbered() -> None:
    base = "<p>a</p><p>b</p><p>c</p><p>d</p><p>e</p>"
    mine = "<p>A</p><p>b</p><p>C1</p><p>d</p><p>E1</p>"
    theirs = "<p>a</p><p>b</p><p>C2</p><p>d</p><p>E2</p>"

    draft = merge_draft(base, mine, theirs)

    assert draft.clashes == 2
    assert draft.text.startswith("<p>A</p><p>b</p><p><strong>⟦ Conflit 1 ")  # mine alone, applied once
    first, second = draft.text.index("⟦ Fin du conflit 1"), draft.text.index("⟦ Conflit 2 ")
    assert draft.text.index("<p>C2</p>") < draft.text.index("<p>C1</p>") < first < second
    assert second < draft.text.index("<p>E2</p>") < draft.text.index("<p>E1</p>")
    assert clash_marks(draft.text) == 6


def test_edits_that_merge_give_a_draft_without_marks() -> None:
    draft = merge_draft("<p>a</p><p>b</p>", "<p>A</p><p>b</p>", "<p>a</p><p>B</p>")
    assert (draft.text, draft.clashes) == ("<p>A</p><p>B</p>", 0)
    assert clash_marks("<p>Un crochet ⟦ ordinaire ⟧ n'est pas une marque.</p>") == 0
