"""Annex services: uploads and their history, additive kinds, required kinds, permissions, the audit trail."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from app.annexes import services
from app.annexes.models import Annex, AnnexKind, RequiredAnnex
from app.audit import AuditEvent
from app.consortia.models import Consortium, Partner, PartnerStatus, Role
from app.consortia.services import partner_by_code
from app.errors import Invalid, NotAllowed, NotFound
from app.extensions import db
from app.storage import StoredFile
from tests.annexes import samples
from tests.factories import make_consortium, make_member

OWN = "plie-sevran"
OTHER = "mde-aulnay"
MAX = 1024 * 1024


@pytest.fixture
def consortium() -> Consortium:
    return make_consortium()


def partner(consortium: Consortium, code: str) -> Partner:
    found = partner_by_code(consortium, code)
    assert found is not None
    return found


def stored_count() -> int:
    return db.session.scalar(select(func.count(StoredFile.id))) or 0


def upload(
    consortium: Consortium, by: object, kind: AnnexKind | str = AnnexKind.COMMITMENT_LETTER, **kwargs: object
) -> Annex:
    values: dict[str, object] = {"data": samples.PDF, "filename": "lettre.pdf", "max_bytes": MAX}
    values.update(kwargs)
    return services.upload_annex(partner(consortium, OWN), kind=kind, by=by, **values)  # type: ignore[arg-type]


def test_director_upload_is_stored_with_type_decided_from_content(consortium: Consortium) -> None:
    director = make_member(consortium, Role.DIRECTOR, OWN)
    annex = upload(
        consortium, director, data=samples.PNG, filename="../../lettre.pdf", title=" Lettre\u202e signée "
    )
    assert annex.content_type == "image/png"
    assert annex.filename == "lettre.pdf.png"
    assert annex.title == "Lettre signée"
    assert annex.file.data == samples.PNG
    assert annex.file.content_type == "image/png"
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "annex.uploaded")).one()
    assert event.partner_id == annex.partner_id
    assert event.actor_id == director.id
    assert event.data["annex_kind"] == "commitment_letter"
    assert event.data["filename"] == "lettre.pdf.png"
    assert event.data["replaced_annex_id"] is None


def test_new_version_replaces_the_current_one_and_keeps_it_in_history(consortium: Consortium) -> None:
    director = make_member(consortium, Role.DIRECTOR, OWN)
    first = upload(consortium, director, filename="v1.pdf")
    second = upload(consortium, director, filename="v2.pdf")
    third = upload(consortium, director, filename="v3.pdf")
    current = services.current_annexes(consortium.id)[partner(consortium, OWN).id]
    assert [annex.filename for annex in current] == ["v3.pdf"]
    assert first.superseded_by_id == second.id
    assert second.superseded_by_id == third.id
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.kind == "annex.uploaded").order_by(AuditEvent.id)
    )
    assert [event.data["replaced_annex_id"] for event in events] == [None, first.id, second.id]
    (row,) = services.annexes_of(consortium, [partner(consortium, OWN)])
    (entry,) = row.entries
    assert [old.filename for old, _who in entry.history] == ["v2.pdf", "v1.pdf"]
    assert entry.uploaded_by is not None
    assert entry.uploaded_by.id == director.id


def test_cofunding_letters_add_up_unless_one_is_replaced_explicitly(consortium: Consortium) -> None:
    director = make_member(consortium, Role.DIRECTOR, OWN)
    aisne = upload(consortium, director, AnnexKind.COFUNDING_LETTER, filename="aisne.pdf")
    upload(consortium, director, AnnexKind.COFUNDING_LETTER, filename="oise.pdf")
    upload(consortium, director, AnnexKind.OTHER, filename="note.pdf")
    replacement = upload(consortium, director, "ignored", filename="aisne-v2.pdf", replaces=aisne)
    assert replacement.kind == AnnexKind.COFUNDING_LETTER
    current = services.current_annexes(consortium.id)[partner(consortium, OWN).id]
    assert [annex.filename for annex in current] == ["oise.pdf", "aisne-v2.pdf", "note.pdf"]
    assert aisne.superseded_by_id == replacement.id


def test_replacing_an_annex_of_another_partner_or_an_old_version_is_refused(consortium: Consortium) -> None:
    coordinator = make_member(consortium, Role.COORDINATOR)
    theirs = services.upload_annex(
        partner(consortium, OTHER),
        kind=AnnexKind.OTHER,
        data=samples.PDF,
        filename="x.pdf",
        max_bytes=MAX,
        by=coordinator,
    )
    before = stored_count()
    with pytest.raises(Invalid, match="plus la version en cours"):
        upload(consortium, coordinator, replaces=theirs)
    assert stored_count() == before


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "passeport"}, "Type de pièce inconnu"),
        ({"kind": ""}, "Type de pièce inconnu"),
        ({"data": samples.EXE_RENAMED, "filename": "lettre.pdf"}, "programme"),
        ({"data": samples.HTML_AS_PDF}, "page web"),
        ({"data": b""}, "vide"),
        ({"data": b"%PDF-" + b"0" * MAX}, "taille maximale d'une pièce \\(1 Mo\\)"),
    ],
)
def test_bad_uploads_are_refused_and_store_nothing(
    consortium: Consortium, kwargs: dict[str, object], message: str
) -> None:
    director = make_member(consortium, Role.DIRECTOR, OWN)
    with pytest.raises(Invalid, match=message):
        upload(consortium, director, **kwargs)
    assert stored_count() == 0
    assert db.session.scalar(select(func.count(Annex.id))) == 0


@pytest.mark.parametrize(
    ("role", "code"), [(Role.READER, None), (Role.DIRECTOR, OTHER), (Role.CONTRIBUTOR, OTHER)]
)
def test_readers_and_other_partners_may_not_upload(
    consortium: Consortium, role: Role, code: str | None
) -> None:
    someone = make_member(consortium, role, code)
    with pytest.raises(NotAllowed):
        upload(consortium, someone)
    assert stored_count() == 0


def test_coordinator_and_contributor_upload_for_the_partner(consortium: Consortium) -> None:
    upload(consortium, make_member(consortium, Role.COORDINATOR))
    upload(consortium, make_member(consortium, Role.CONTRIBUTOR, OWN), AnnexKind.STATUTES)
    assert len(services.current_annexes(consortium.id)[partner(consortium, OWN).id]) == 2


def test_withdrawn_partner_uploads_nothing(consortium: Consortium) -> None:
    coordinator = make_member(consortium, Role.COORDINATOR)
    partner(consortium, OWN).status = PartnerStatus.WITHDRAWN
    with pytest.raises(Invalid, match="retiré"):
        upload(consortium, coordinator)


def test_required_kinds_are_set_by_the_coordinator_with_an_audit_event(consortium: Consortium) -> None:
    coordinator = make_member(consortium, Role.COORDINATOR)
    assert services.required_kinds(consortium.id) == []
    assert services.set_required_kinds(consortium, ["statutes", "commitment_letter"], by=coordinator)
    assert services.required_kinds(consortium.id) == [AnnexKind.COMMITMENT_LETTER, AnnexKind.STATUTES]
    assert not services.set_required_kinds(consortium, ["commitment_letter", "statutes"], by=coordinator)
    assert services.set_required_kinds(consortium, ["bank_details", "statutes"], by=coordinator)
    assert services.required_kinds(consortium.id) == [AnnexKind.STATUTES, AnnexKind.BANK_DETAILS]
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.kind == "annex.requirements_changed").order_by(AuditEvent.id)
    ).all()
    assert [(event.data["old"], event.data["new"]) for event in events] == [
        ([], ["commitment_letter", "statutes"]),
        (["commitment_letter", "statutes"], ["statutes", "bank_details"]),
    ]
    assert services.set_required_kinds(consortium, [], by=coordinator)
    assert db.session.scalar(select(func.count(RequiredAnnex.id))) == 0


@pytest.mark.parametrize(("kinds", "message"), [(["passeport"], "inconnu"), (["other"], "Autre pièce")])
def test_bad_required_kinds_change_nothing(consortium: Consortium, kinds: list[str], message: str) -> None:
    coordinator = make_member(consortium, Role.COORDINATOR)
    services.set_required_kinds(consortium, ["statutes"], by=coordinator)
    with pytest.raises(Invalid, match=message):
        services.set_required_kinds(consortium, ["siret_proof", *kinds], by=coordinator)
    assert services.required_kinds(consortium.id) == [AnnexKind.STATUTES]


def test_only_the_coordinator_sets_required_kinds(consortium: Consortium) -> None:
    director = make_member(consortium, Role.DIRECTOR, OWN)
    with pytest.raises(NotAllowed):
        services.set_required_kinds(consortium, ["statutes"], by=director)


def test_missing_and_other_annexes_per_partner(consortium: Consortium) -> None:
    coordinator = make_member(consortium, Role.COORDINATOR)
    services.set_required_kinds(
        consortium, ["commitment_letter", "statutes", "cofunding_letter"], by=coordinator
    )
    upload(consortium, coordinator, AnnexKind.STATUTES)
    upload(consortium, coordinator, AnnexKind.COFUNDING_LETTER, filename="a.pdf")
    upload(consortium, coordinator, AnnexKind.COFUNDING_LETTER, filename="b.pdf")
    upload(consortium, coordinator, AnnexKind.BANK_DETAILS, filename="rib.pdf")
    own, other = services.annexes_of(consortium, [partner(consortium, OWN), partner(consortium, OTHER)])
    assert own.missing == [AnnexKind.COMMITMENT_LETTER]
    assert [entry.annex.filename for entry in own.others] == ["rib.pdf", "b.pdf"]
    assert other.missing == [AnnexKind.COMMITMENT_LETTER, AnnexKind.STATUTES, AnnexKind.COFUNDING_LETTER]


def test_annex_of_another_consortium_is_not_found(consortium: Consortium) -> None:
    other_consortium = make_consortium(slug="autre-consortium")
    annex = upload(consortium, make_member(consortium, Role.COORDINATOR))
    with pytest.raises(NotFound):
        services.annex_in(other_consortium, annex.id)


@pytest.mark.parametrize(
    ("size", "label"),
    [(500, "1 Ko"), (820 * 1024, "820 Ko"), (10 * 1024 * 1024, "10 Mo"), (1536 * 1024, "1,5 Mo")],
)
def test_sizes_are_shown_in_french_units(size: int, label: str) -> None:
    assert services.size_label(size) == label
