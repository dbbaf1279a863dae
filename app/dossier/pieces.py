"""A draft dossier laid out piece by piece, so that after a change to one chapter only that chapter
(and the front matter, which names the version and lists the findings) is laid out again.

The pieces are the front matter (cover, state of the draft, contents) and each chapter: documents of
their own from the dossier's template, laid out by WeasyPrint without running headers and footers.
A chapter starts on a new page and nothing in it counts pages, so its layout owes nothing to where
it falls: its PDF is kept (`DossierPiece`) under the digest of what it was laid out from, and the
next draft with the same chapter takes it as it is. A draft is then put together in four steps:

1. the chapters not kept are laid out, all in one bounded child process;
2. their page counts give each chapter's first page, written into the contents of the front matter,
   which is laid out last (again if its own page count was not the one foreseen);
3. the running headers and footers ("Page X / Y", acronym, chapter, version) are laid out on empty
   sheets, one per page, landscape where the page is;
4. pypdf puts the pages one after the other, prints each sheet over its page, and rebuilds what
   spans the pieces: the named destinations (the contents' links land on their chapters), the
   outline, the document's title and language.

The text, page numbers, links and outline are those of the dossier laid out in one piece (a test
compares them). A final dossier, the one filed, is always laid out in one piece.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, cast

import weasyprint
from flask_babel import gettext as _
from pypdf import PageObject, PdfReader, PdfWriter
from pypdf.generic import (
    ArrayObject,
    DecodedStreamObject,
    Destination,
    DictionaryObject,
    Fit,
    IndirectObject,
    NameObject,
    TextStringObject,
)
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

from app.dossier.document import TEMPLATE_VERSION, Dossier, french_spacing
from app.dossier.html import STYLESHEET, overlay_html, piece_html
from app.dossier.models import DossierPiece
from app.dossier.pdf import STATIC_ROOT, RenderedPdf, render_pdfs
from app.extensions import db
from app.storage import StoredFile, store_bytes

FRONT = "front"
# The pieces are laid out without the page's margin boxes: the overlay prints them.
WITHOUT_MARGIN_BOXES = (
    "@page { "
    + " ".join(
        f"@{box} {{ content: none !important; }}"
        for box in ("top-left", "top-right", "bottom-left", "bottom-right")
    )
    + " }"
)
# Headers of the front matter's pages, from the page where each part starts (its anchor).
FRONT_HEADERS = (("etat-du-brouillon", "État du dossier"), ("sommaire", "Sommaire"))
PIECE_MIME = "application/pdf"
DEFAULT_FRONT_PAGES = 3  # cover, state of the draft, contents
OVERLAY_NAME = "/ConsortioSheet"  # the sheets' names among the pages' forms, numbered


@lru_cache(maxsize=1)
def _layout_version() -> str:
    """What a piece's layout depends on besides its HTML: the template, the stylesheet, WeasyPrint."""
    stylesheet = (STATIC_ROOT / STYLESHEET).read_bytes()
    return f"{TEMPLATE_VERSION}:{weasyprint.__version__}:{hashlib.sha256(stylesheet).hexdigest()}"


def _digest(html: str) -> str:
    return hashlib.sha256(f"{_layout_version()}\n{html}".encode()).hexdigest()


@dataclass(frozen=True)
class Laid:
    """A piece's PDF and its pages' count."""

    data: bytes
    page_count: int


def render_draft(
    consortium_id: int, dossier: Dossier, *, on_stage: Callable[[str, int], None] | None = None
) -> RenderedPdf:
    """The draft dossier's PDF, its chapters taken from the kept pieces when they have not changed.

    Reads and writes through the session; no transaction is open while a piece is laid out."""
    stage = on_stage or (lambda _text, _progress: None)
    chapters = {chapter.anchor: piece_html(dossier, chapter.anchor) for chapter in dossier.chapters}
    digests = {anchor: _digest(html) for anchor, html in chapters.items()}
    laid, front_pages = _kept(consortium_id, set(digests.values())), _last_front_pages(consortium_id)
    db.session.commit()  # no lock held while laying out
    missing = [anchor for anchor, digest in digests.items() if digest not in laid]
    new: dict[str, Laid] = {}
    if missing:
        stage(
            _("Mise en page de %(count)d chapitre(s) sur %(total)d", count=len(missing), total=len(chapters)),
            20,
        )
        rendered = render_pdfs([chapters[anchor] for anchor in missing], user_css=WITHOUT_MARGIN_BOXES)
        for anchor, one in zip(missing, rendered, strict=True):
            new[digests[anchor]] = laid[digests[anchor]] = Laid(one.data, one.page_count)
    pieces = [laid[digests[chapter.anchor]] for chapter in dossier.chapters]
    stage(_("Sommaire et numéros de page"), 80)
    front_html, front = _front(dossier, [piece.page_count for piece in pieces], front_pages)
    headers = _front_headers(front) + [
        header
        for chapter, piece in zip(dossier.chapters, pieces, strict=True)
        for header in [f"{chapter.number}. {french_spacing(chapter.title)}"] * piece.page_count
    ]
    readers = [PdfReader(io.BytesIO(piece.data)) for piece in [front, *pieces]]
    sheets = [
        (bool(page.mediabox.width > page.mediabox.height), header)
        for page, header in zip((page for reader in readers for page in reader.pages), headers, strict=True)
    ]
    # The headers and footers are the same as long as the pages are: kept like a chapter.
    overlay_source = overlay_html(dossier, sheets)
    overlay_digest = _digest(overlay_source)
    overlay = _kept(consortium_id, {overlay_digest}).get(overlay_digest)
    db.session.commit()
    if overlay is None:
        (one,) = render_pdfs([overlay_source])
        overlay = new[overlay_digest] = Laid(one.data, one.page_count)
    _keep(consortium_id, new, {*digests.values(), overlay_digest}, (_digest(front_html), front))
    db.session.commit()
    stage(_("Assemblage"), 95)
    return RenderedPdf(assemble(readers, PdfReader(io.BytesIO(overlay.data))), len(sheets))


def _front(dossier: Dossier, chapter_pages: list[int], front_pages: int) -> tuple[str, Laid]:
    """The front matter with the chapters' first pages in its contents, laid out for the page count
    foreseen (the last front matter's), then again if it came out longer or shorter."""
    for _attempt in range(3):
        starts, page = {}, front_pages + 1
        for chapter, count in zip(dossier.chapters, chapter_pages, strict=True):
            starts[chapter.anchor], page = page, page + count
        html = piece_html(dossier, FRONT, starts)
        (rendered,) = render_pdfs([html], user_css=WITHOUT_MARGIN_BOXES)
        if rendered.page_count == front_pages:
            break
        front_pages = rendered.page_count
    return html, Laid(rendered.data, rendered.page_count)


def _front_headers(front: Laid) -> list[str]:
    """The chapter named in the header of each page of the front matter (none on the cover)."""
    reader = PdfReader(io.BytesIO(front.data))
    destinations = reader.named_destinations
    headers = [""] * len(reader.pages)
    for anchor, header in FRONT_HEADERS:
        if anchor in destinations:
            start = _page_of(reader, destinations[anchor])
            headers[start:] = [header] * (len(headers) - start)
    return headers


def _kept(consortium_id: int, digests: set[str]) -> dict[str, Laid]:
    """The consortium's kept pieces among these digests."""
    rows = db.session.execute(
        select(DossierPiece.digest, DossierPiece.page_count, StoredFile.data)
        .join(StoredFile, StoredFile.id == DossierPiece.file_id)
        .where(DossierPiece.consortium_id == consortium_id, DossierPiece.digest.in_(digests))
    )
    return {row.digest: Laid(row.data, row.page_count) for row in rows}


def _last_front_pages(consortium_id: int) -> int:
    """The page count of the consortium's last front matter: the next one's first guess."""
    found = db.session.scalar(
        select(DossierPiece.page_count)
        .where(DossierPiece.consortium_id == consortium_id, DossierPiece.front)
        .order_by(DossierPiece.id.desc())
        .limit(1)
    )
    return found or DEFAULT_FRONT_PAGES


def _keep(consortium_id: int, chapters: dict[str, Laid], in_use: set[str], front: tuple[str, Laid]) -> None:
    """Keep the new chapters and this front matter; forget the pieces this draft no longer has."""
    in_use = in_use | {front[0]}
    stored = db.session.execute(
        select(DossierPiece.id, DossierPiece.file_id, DossierPiece.digest).where(
            DossierPiece.consortium_id == consortium_id
        )
    ).all()
    stale = [row for row in stored if row.digest not in in_use]
    if stale:
        db.session.execute(delete(DossierPiece).where(DossierPiece.id.in_([row.id for row in stale])))
        db.session.execute(delete(StoredFile).where(StoredFile.id.in_([row.file_id for row in stale])))
    known = {row.digest for row in stored}
    new = [(digest, piece, False) for digest, piece in chapters.items()] + [(*front, True)]
    for digest, piece, is_front in new:
        if digest in known:
            continue
        try:
            with db.session.begin_nested():
                file = store_bytes(piece.data, PIECE_MIME)
                db.session.add(
                    DossierPiece(
                        consortium_id=consortium_id,
                        digest=digest,
                        file_id=file.id,
                        page_count=piece.page_count,
                        front=is_front,
                    )
                )
        except IntegrityError:
            continue  # kept meanwhile by another render of the same consortium: the same piece


def assemble(readers: list[PdfReader], overlay: PdfReader) -> bytes:
    """The pieces' pages in order, each with its sheet of headers and footers printed over it; the
    named destinations, links and outline of every piece pointing at the assembled pages."""
    writer = PdfWriter()
    offsets, destinations = [], {}
    for reader in readers:
        offsets.append(len(writer.pages))
        for page in reader.pages:
            writer.add_page(page)
    for number, (page, sheet) in enumerate(zip(writer.pages, overlay.pages, strict=True)):
        _print_over(writer, page, sheet, f"{OVERLAY_NAME}{number}")
    # A chapter's own anchor wins over the stand-in the contents carried for it in the front matter.
    for reader, offset in reversed(list(zip(readers, offsets, strict=True))):
        for name, destination in reader.named_destinations.items():
            if name not in destinations:
                destinations[name] = _moved(writer, reader, destination, offset)
    names = writer.get_named_dest_root()
    for name in sorted(destinations):
        names.extend([TextStringObject(name), destinations[name]])
    for reader, offset in zip(readers, offsets, strict=True):
        _copy_outline(writer, reader, reader.outline, offset, None)
    front = readers[0]
    writer.add_metadata(dict(front.metadata or {}))
    language = front.root_object.get("/Lang")
    if language is not None:
        writer.root_object[NameObject("/Lang")] = TextStringObject(str(language))
    output = io.BytesIO()
    writer.write(output)
    return output.getvalue()


def _print_over(writer: PdfWriter, page: PageObject, sheet: PageObject, name: str) -> None:
    """Draw the sheet over the page as a form of its own, under a name of its own (WeasyPrint's pages
    share one dictionary of resources): neither content stream is parsed, as pypdf's merge_page does to
    rename their resources (a third of the assembly's time)."""
    drawing = sheet.get_contents()
    form = DecodedStreamObject()
    form.set_data(drawing.get_data() if drawing is not None else b"")
    form.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Form"),
            NameObject("/BBox"): ArrayObject(sheet.mediabox),
            NameObject("/Resources"): sheet["/Resources"].clone(writer),
        }
    )
    resources = cast(DictionaryObject, page["/Resources"].get_object())
    if "/XObject" not in resources:
        resources[NameObject("/XObject")] = DictionaryObject()
    forms = cast(DictionaryObject, resources["/XObject"].get_object())
    forms[NameObject(name)] = writer._add_object(form.flate_encode())
    # The page's own drawing leaves its coordinates changed: it is wrapped, then the sheet drawn.
    before, after = DecodedStreamObject(), DecodedStreamObject()
    before.set_data(b"q\n")
    after.set_data(f"\nQ\nq {name} Do Q\n".encode())
    contents = page["/Contents"].get_object()
    own = list(contents) if isinstance(contents, ArrayObject) else [page["/Contents"]]
    page[NameObject("/Contents")] = ArrayObject([writer._add_object(before), *own, writer._add_object(after)])


def _moved(writer: PdfWriter, reader: PdfReader, destination: Destination, offset: int) -> ArrayObject:
    target = writer.pages[_page_of(reader, destination) + offset].indirect_reference
    assert isinstance(target, IndirectObject)
    return ArrayObject([target, *destination.dest_array[1:]])


def _copy_outline(writer: PdfWriter, reader: PdfReader, items: list[Any], offset: int, parent: Any) -> None:
    last = parent
    for item in items:
        if isinstance(item, list):
            _copy_outline(writer, reader, item, offset, last)
            continue
        last = writer.add_outline_item(
            title=str(item.title),
            page_number=_page_of(reader, item) + offset,
            parent=parent,
            fit=Fit.xyz(left=item.left, top=item.top, zoom=item.zoom),
        )


def _page_of(reader: PdfReader, destination: Destination) -> int:
    page = reader.get_destination_page_number(destination)
    if page is None:  # never from WeasyPrint: each of its destinations names a page of the document
        raise ValueError(f"Destination sans page : {destination.title}")
    return page
