"""The dossier's plain values and its HTML: content, withdrawn partners, digest, hostile inputs, preview."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from markupsafe import escape
from sqlalchemy import select

from app.annexes.models import Annex, AnnexKind
from app.budget.services import consolidation_of
from app.consortia.models import Consortium, PartnerStatus, Role
from app.consortia.services import partner_by_code
from app.dossier.document import TEMPLATE_VERSION, Dossier, build_dossier
from app.dossier.html import dossier_html
from app.dossier.typography import french_spacing, french_spacing_html, rich_text
from app.errors import Invalid
from app.extensions import db
from app.members.withdrawal import withdraw_partner
from app.money import format_eur, format_share
from app.sections import services as sections_service
from app.sections.models import RevisionKind, Section, SectionPart, SectionRevision
from app.storage import store_bytes
from tests.factories import make_consortium, make_member

HOSTILE_TEXT = (
    "<p>Texte commun ; début<script>alert('piège')</script><img src=x onerror=alert(1)>"
    '<a href="javascript:alert(2)">lien piégé</a> suite : fin ! Vraiment ?</p>'
    "<p>NFD e\u0301té, fin du texte.</p>"
)
RTL_EMOJI_TEXT = "<p>Émoji 🎉 et arabe مرحبا بالعالم, puis retour au français ; fin.</p>"
WITHDRAWN_MARKER = "TEXTE-DU-MEMBRE-RETIRE"
SCRIPT_NAME = '"><script>alert(3)</script>'
TEMPLATE_NAME = "{{7*7}} Association"


def _section(consortium: Consortium, code: str) -> Section:
    return db.session.scalars(
        select(Section).where(Section.consortium_id == consortium.id, Section.code == code)
    ).one()


def _store_unsanitised(section: Section, partner_id: int | None, content: str) -> None:
    """A stored text as an old version or a bug elsewhere could have left it: not sanitised."""
    part = db.session.scalars(
        select(SectionPart).where(
            SectionPart.section_id == section.id,
            SectionPart.partner_id.is_(None) if partner_id is None else SectionPart.partner_id == partner_id,
        )
    ).one_or_none()
    revision = sections_service.append_revision(
        section, partner_id, "<p>provisoire</p>", kind=RevisionKind.EDIT, author_id=None, part=part
    )
    db.session.execute(
        SectionRevision.__table__.update().where(SectionRevision.id == revision.id).values(content=content)
    )


def hostile_consortium(slug: str = "hostile") -> Consortium:
    """Four partners, the fourth withdrawn with a text of its own; hostile names and texts elsewhere."""
    consortium = make_consortium(4, slug=slug)
    partners = sorted(consortium.partners, key=lambda p: p.position)
    partners[1].organisation.rename(SCRIPT_NAME)
    partners[2].organisation.rename(TEMPLATE_NAME)
    _store_unsanitised(_section(consortium, "resume"), None, HOSTILE_TEXT)
    role = _section(consortium, "role_membre")
    _store_unsanitised(role, partners[1].id, "<p>Rôle du membre au nom piégé.</p>")
    _store_unsanitised(role, partners[3].id, f"<p>{WITHDRAWN_MARKER}</p>")
    coordinator = make_member(consortium, Role.COORDINATOR, partners[0].code, email="coord@exemple.fr")
    withdraw_partner(partners[3], by=coordinator, reason="Retrait pour le test")
    db.session.commit()
    return consortium


def test_french_spacing_puts_narrow_no_break_spaces_before_high_punctuation() -> None:
    assert french_spacing("Vraiment ? Oui ; non : peut-être !") == (
        "Vraiment\u202f? Oui\u202f; non\u202f: peut-être\u202f!"
    )
    assert french_spacing("« citation »") == "«\u202fcitation\u202f»"
    assert french_spacing("https://exemple.fr et 10:30") == "https://exemple.fr et 10:30"
    html = '<p>Titre : <a href="https://exemple.fr/a?b=c">lien ?</a></p>'
    assert (
        french_spacing_html(html) == '<p>Titre\u202f: <a href="https://exemple.fr/a?b=c">lien\u202f?</a></p>'
    )


def test_rich_text_is_sanitised_again_on_render() -> None:
    cleaned = rich_text(HOSTILE_TEXT)
    assert "<script" not in cleaned
    assert "alert('piège')" not in cleaned
    assert "onerror" not in cleaned
    assert "javascript:" not in cleaned
    assert "lien piégé" in cleaned
    assert rich_text(RTL_EMOJI_TEXT).startswith("<p>Émoji 🎉 et arabe مرحبا")


def test_dossier_holds_plain_values_and_the_app_figures() -> None:
    consortium = make_consortium(3, slug="simple")
    dossier = build_dossier(consortium)
    totals = consolidation_of(consortium).consolidation

    def plain(value: object) -> None:
        if dataclasses.is_dataclass(value):
            for field in dataclasses.fields(value):
                plain(getattr(value, field.name))
        elif isinstance(value, tuple):
            for item in value:
                plain(item)
        else:
            assert value is None or type(value).__module__ in ("builtins", "decimal", "datetime"), value

    plain(dossier)
    assert dossier.total_cost == totals.total_cost
    assert dossier.partner_count == 3
    assert dossier.partners[0].lead
    identity = dict(dossier.identity)
    assert identity["Coût total"] == format_eur(totals.total_cost)
    assert identity["Part du financeur principal"] == format_share(totals.main_funder_share)
    assert "\u202f" in identity["Coût total"]
    assert identity["Coût total"].endswith("\u00a0€")
    # FTE are numbers, never euros.
    membres = next(t for t in dossier.budget_tables if t.key == "membres")
    assert membres.columns[-1].label == "ETP"
    assert "€" not in membres.rows[0][-1]
    kinds = [chapter.kind for chapter in dossier.chapters]
    assert (
        kinds.index("identity") < kinds.index("indicators") < kinds.index("budget") < kinds.index("annexes")
    )


def test_digest_ignores_the_time_but_not_the_content_nor_the_version() -> None:
    consortium = make_consortium(3, slug="empreinte")
    first = build_dossier(consortium, generated_at=datetime(2026, 1, 1, tzinfo=UTC))
    again = build_dossier(consortium, generated_at=datetime(2026, 6, 1, tzinfo=UTC))
    assert first.digest == again.digest
    assert len(first.digest) == 64
    assert build_dossier(consortium, final=True).digest != first.digest
    assert build_dossier(consortium, version_label="Version déposée n° 1").digest != first.digest
    consortium.title = "Un autre titre"
    db.session.commit()
    assert build_dossier(consortium).digest != first.digest
    assert TEMPLATE_VERSION


def test_final_is_refused_while_errors_remain_with_the_errors_listed() -> None:
    consortium = make_consortium(slug="demo-erreurs")  # the demo has an unbalanced year
    draft = build_dossier(consortium)
    assert draft.errors
    assert not draft.final
    with pytest.raises(Invalid) as refused:
        build_dossier(consortium, final=True)
    message = str(refused.value)
    assert "définitif" in message
    for error in draft.errors:
        assert error.replace("\u202f", " ")[:40] in message.replace("\u202f", " ")


def test_withdrawn_partner_appears_nowhere_and_hostile_names_are_text() -> None:
    consortium = hostile_consortium()
    withdrawn = [p for p in consortium.partners if p.status == PartnerStatus.WITHDRAWN]
    assert len(withdrawn) == 1
    name = withdrawn[0].name
    dossier = build_dossier(consortium)
    assert dossier.partner_count == 3
    html = dossier_html(dossier)
    assert WITHDRAWN_MARKER not in html
    assert name not in html
    assert str(escape(name)) not in html
    assert "<script" not in html
    assert "onerror" not in html
    assert "javascript:" not in html
    assert "&#34;&gt;&lt;script&gt;alert(3)&lt;/script&gt;" in html or "&quot;&gt;&lt;script&gt;" in html
    assert "{{7*7}} Association" in html
    assert "49 Association" not in html
    # Every partner part is under an active partner's name.
    for chapter in dossier.chapters:
        assert all(part.partner_code != withdrawn[0].code for part in chapter.parts)
    assert partner_by_code(consortium, withdrawn[0].code) is not None


def test_preview_links_the_stylesheet_and_has_no_inline_style_or_script() -> None:
    consortium = make_consortium(3, slug="apercu")
    dossier = build_dossier(consortium)
    preview = dossier_html(dossier, preview=True)
    assert '<link rel="stylesheet" href="/static/css/dossier.css">' in preview
    assert "style=" not in preview
    assert "<style" not in preview
    assert "<script" not in preview
    assert 'class="dossier draft preview"' in preview
    pdf_html = dossier_html(dossier)
    assert 'href="https://consortio.invalid/static/css/dossier.css"' in pdf_html
    assert "BROUILLON" in pdf_html


def test_dossier_is_a_frozen_value() -> None:
    consortium = make_consortium(3, slug="fige")
    dossier = build_dossier(consortium)
    assert isinstance(dossier, Dossier)
    with pytest.raises(dataclasses.FrozenInstanceError):
        dossier.title = "autre"  # type: ignore[misc]


def test_annexes_chapter_lists_current_annexes_and_sign_offs() -> None:
    consortium = make_consortium(3, slug="pieces")
    lead = sorted(consortium.partners, key=lambda p: p.position)[0]
    stored = store_bytes(b"%PDF-1.4 test", "application/pdf")
    old = Annex(
        consortium_id=consortium.id,
        partner_id=lead.id,
        kind=AnnexKind.STATUTES,
        filename="statuts-2018.pdf",
        file_id=stored.id,
        content_type="application/pdf",
        size=13,
        uploaded_at=datetime(2026, 3, 1, 9, 0, tzinfo=UTC),
        superseded_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
    )
    current = Annex(
        consortium_id=consortium.id,
        partner_id=lead.id,
        kind=AnnexKind.STATUTES,
        filename="statuts-2026.pdf",
        file_id=stored.id,
        content_type="application/pdf",
        size=13,
        uploaded_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
    )
    db.session.add_all([old, current])
    db.session.commit()
    dossier = build_dossier(consortium)
    lead_annexes = next(entry for entry in dossier.annexes if entry.code == lead.code)
    assert [(a.kind, a.filename, a.uploaded_on) for a in lead_annexes.annexes] == [
        ("Statuts", "statuts-2026.pdf", "2 mars 2026")
    ]
    html = dossier_html(dossier)
    assert "statuts-2026.pdf" in html
    assert "statuts-2018.pdf" not in html
    states = {entry.code: entry.sign_off for entry in dossier.annexes}
    assert len(states) == 3
    assert all(states.values())


def test_partner_texts_of_generated_chapters_are_kept() -> None:
    consortium = make_consortium(3, slug="commentaires")
    lead = sorted(consortium.partners, key=lambda p: p.position)[0]
    _store_unsanitised(_section(consortium, "budget"), lead.id, "<p>COMMENTAIRE-BUDGET-DU-CHEF-DE-FILE</p>")
    _store_unsanitised(_section(consortium, "annexes"), lead.id, "<p>NOTE-SUR-LES-PIECES</p>")
    db.session.commit()
    html = dossier_html(build_dossier(consortium))
    assert html.count("COMMENTAIRE-BUDGET-DU-CHEF-DE-FILE") == 1
    assert html.count("NOTE-SUR-LES-PIECES") == 1
