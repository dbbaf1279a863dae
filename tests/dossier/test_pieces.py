"""A draft put together from pieces reads as the dossier laid out in one piece (text, page numbers,
outline, links), and after a change to one chapter only that chapter and the front matter are laid
out again."""

from __future__ import annotations

import io
import shutil
import subprocess

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from app.consortia.models import Consortium, Role
from app.dossier import pieces
from app.dossier.document import build_dossier
from app.dossier.html import dossier_html
from app.dossier.models import DossierPiece
from app.dossier.pdf import render_pdf
from app.extensions import db
from app.storage import StoredFile
from tests.dossier.test_snapshots import NEW_TEXT, rewrite, shared_section
from tests.factories import make_consortium, make_member


def _words_by_page(data: bytes) -> list[list[str]]:
    """Each page's words, sorted: the same text whatever the order the PDF draws it in (the headers
    and footers of a put-together draft are drawn after the page's text)."""
    reader = PdfReader(io.BytesIO(data))
    if shutil.which("pdftotext") is None:  # pypdf reads this Latin text as well
        return [sorted(page.extract_text().split()) for page in reader.pages]
    return [
        sorted(
            subprocess.run(
                ["pdftotext", "-f", str(number), "-l", str(number), "-", "-"],
                input=data,
                capture_output=True,
                check=True,
            )
            .stdout.decode()
            .split()
        )
        for number in range(1, len(reader.pages) + 1)
    ]


def _outline(data: bytes) -> list[tuple[int, str, int]]:
    """(depth, title, page) of every bookmark, in order."""
    reader = PdfReader(io.BytesIO(data))
    found: list[tuple[int, str, int]] = []

    def walk(items: list, depth: int) -> None:  # type: ignore[type-arg]
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                found.append((depth, str(item.title), reader.get_destination_page_number(item)))

    walk(reader.outline, 0)
    return found


def _internal_links(data: bytes) -> list[tuple[int, int]]:
    """(page of the link, page it lands on) for every link to a named destination."""
    reader = PdfReader(io.BytesIO(data))
    destinations = reader.named_destinations
    links = []
    for number, page in enumerate(reader.pages):
        for annotation in page.get("/Annots") or []:
            annotation = annotation.get_object()
            if "/Dest" in annotation:
                target = destinations[str(annotation["/Dest"])]
                links.append((number, reader.get_destination_page_number(target)))
    return links


@pytest.fixture
def consortium() -> Consortium:
    return make_consortium(3)


def test_a_draft_from_pieces_reads_as_the_dossier_laid_out_in_one_piece(consortium: Consortium) -> None:
    dossier = build_dossier(consortium)
    whole = render_pdf(dossier_html(dossier))
    assembled = pieces.render_draft(consortium.id, dossier)

    assert assembled.page_count == whole.page_count
    assert _words_by_page(assembled.data) == _words_by_page(whole.data)  # page numbers and headers included
    assert _outline(assembled.data) == _outline(whole.data)
    links = _internal_links(assembled.data)
    assert links == _internal_links(whole.data)
    # The contents link each chapter to its first page (WeasyPrint draws a link per box of an entry).
    assert len({target for _page, target in links}) == len(dossier.chapters)
    assembled_reader, whole_reader = PdfReader(io.BytesIO(assembled.data)), PdfReader(io.BytesIO(whole.data))
    assert assembled_reader.metadata is not None
    assert whole_reader.metadata is not None
    assert assembled_reader.metadata.title == whole_reader.metadata.title
    assert assembled_reader.trailer["/Root"]["/Lang"] == whole_reader.trailer["/Root"]["/Lang"] == "fr"


def test_after_a_change_to_one_chapter_only_it_and_the_front_matter_are_laid_out_again(
    consortium: Consortium, monkeypatch: pytest.MonkeyPatch
) -> None:
    laid_out: list[int] = []  # how many documents each layout was given
    real = pieces.render_pdfs

    def counting(htmls: list[str], **options: str) -> list:  # type: ignore[type-arg]
        laid_out.append(len(htmls))
        return real(htmls, **options)

    monkeypatch.setattr(pieces, "render_pdfs", counting)
    chapters = len(build_dossier(consortium).chapters)
    pieces.render_draft(consortium.id, build_dossier(consortium))
    assert laid_out[0] == chapters
    kept = db.session.scalar(select(func.count()).select_from(DossierPiece))
    assert kept == chapters + 2  # the chapters, the front matter, the headers and footers

    laid_out.clear()
    rewrite(shared_section(consortium), make_member(consortium, Role.COORDINATOR, "urtie-idf"))
    again = pieces.render_draft(consortium.id, build_dossier(consortium))
    # The chapter, then the front matter (its state of the draft and contents); the pages are the
    # same in number, so the headers and footers are those kept.
    assert laid_out == [1, 1]
    assert "désormais" in NEW_TEXT
    assert any("désormais" in page for page in _words_by_page(again.data))
    # The pieces of the previous draft that this one no longer has are forgotten, with their files.
    assert db.session.scalar(select(func.count()).select_from(DossierPiece)) == chapters + 2
    files = set(db.session.scalars(select(DossierPiece.file_id)))
    assert len(files) == chapters + 2
    assert all(db.session.get(StoredFile, file_id) is not None for file_id in files)


def test_a_chapter_that_grows_moves_the_page_numbers_of_those_after_it(consortium: Consortium) -> None:
    pieces.render_draft(consortium.id, build_dossier(consortium))
    long_text = "".join(
        f"<p>Paragraphe {number} : {'un texte qui prend de la place. ' * 12}</p>" for number in range(60)
    )
    rewrite(shared_section(consortium), make_member(consortium, Role.COORDINATOR, "urtie-idf"), long_text)
    dossier = build_dossier(consortium)
    assembled = pieces.render_draft(consortium.id, dossier)
    whole = render_pdf(dossier_html(dossier))
    assert assembled.page_count == whole.page_count
    assert _words_by_page(assembled.data) == _words_by_page(whole.data)
    assert _internal_links(assembled.data) == _internal_links(whole.data)
