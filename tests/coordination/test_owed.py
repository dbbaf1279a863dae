"""What each partner owes: texts, budget, indicators, sign-off and annexes; a fixed number of queries."""

from __future__ import annotations

from sqlalchemy import event, select

from app.annexes.models import Annex, AnnexKind, RequiredAnnex
from app.budget.models import BudgetAmount, IndicatorValue, SignOff
from app.consortia.models import Consortium, PartnerStatus
from app.coordination.owed import owed_of
from app.extensions import db
from app.sections.models import Section, SectionPart, SectionStatus
from app.storage import store_bytes
from tests.factories import make_consortium


def _states(consortium: Consortium, code: str) -> dict[str, str]:
    row = next(r for r in owed_of(consortium).partners if r.code == code)
    return {item.key: item.state for item in row.items}


def test_owed_lists_every_active_partner_with_its_items() -> None:
    consortium = make_consortium(4)
    owed = owed_of(consortium)
    assert [row.code for row in owed.partners] == [p.code for p in consortium.partners]
    keys = [column.key for column in owed.columns]
    assert "budget" in keys
    assert "sign_off" in keys
    assert "indicators" in keys
    # Generated chapters (identity card, budget, annexes) are not texts anyone owes.
    assert not any(key.endswith((":identite", ":budget", ":annexes")) for key in keys)
    assert "part:role_membre" in keys
    for row in owed.partners:
        assert {item.key for item in row.items} <= set(keys)
        assert all(item.url.startswith("/consortia/") for item in row.items)


def test_withdrawn_partner_owes_nothing() -> None:
    consortium = make_consortium(3)
    partner = consortium.partners[2]
    partner.status = PartnerStatus.WITHDRAWN
    db.session.commit()
    assert partner.code not in {row.code for row in owed_of(consortium).partners}


def test_partner_text_state_follows_its_text_and_status() -> None:
    consortium = make_consortium(2)
    partner = consortium.partners[1]
    section = db.session.scalar(
        select(Section).where(Section.consortium_id == consortium.id, Section.code == "role_membre")
    )
    part = db.session.scalar(
        select(SectionPart).where(SectionPart.section_id == section.id, SectionPart.partner_id == partner.id)
    )
    assert part.head_revision_id is not None  # the demo partner has written its part
    # A written text is under way whatever its status says, until proposed for review or validated.
    expected = {
        SectionStatus.TODO: "in_progress",
        SectionStatus.IN_PROGRESS: "in_progress",
        SectionStatus.IN_REVIEW: "to_review",
        SectionStatus.VALIDATED: "done",
    }
    for status, state in expected.items():
        part.status = status
        db.session.commit()
        assert _states(consortium, partner.code)["part:role_membre"] == state
    db.session.delete(part)
    db.session.commit()
    assert _states(consortium, partner.code)["part:role_membre"] == "missing"


def test_shared_section_is_owed_by_its_lead_writer_only() -> None:
    consortium = make_consortium(3)
    writer, other = consortium.partners[1], consortium.partners[2]
    section = db.session.scalar(
        select(Section).where(Section.consortium_id == consortium.id, Section.code == "innovation")
    )
    section.writer_partner_id = writer.id
    section.status = SectionStatus.IN_REVIEW
    db.session.commit()
    assert _states(consortium, writer.code)["shared:innovation"] == "to_review"
    assert "shared:innovation" not in _states(consortium, other.code)


def test_budget_missing_in_progress_and_done() -> None:
    consortium = make_consortium(2)
    partner = consortium.partners[1]
    states = _states(consortium, partner.code)
    # The demo partner's budget is balanced.
    assert states["budget"] == "done"
    amount = db.session.scalar(select(BudgetAmount).where(BudgetAmount.partner_id == partner.id))
    amount.amount = amount.amount + 100
    db.session.commit()
    assert _states(consortium, partner.code)["budget"] == "in_progress"
    for row in db.session.scalars(select(BudgetAmount).where(BudgetAmount.partner_id == partner.id)):
        db.session.delete(row)
    db.session.commit()
    assert _states(consortium, partner.code)["budget"] == "missing"


def test_indicators_done_only_when_every_target_is_entered() -> None:
    consortium = make_consortium(2)
    partner = consortium.partners[1]
    rows = list(db.session.scalars(select(IndicatorValue).where(IndicatorValue.partner_id == partner.id)))
    assert _states(consortium, partner.code)["indicators"] in {"done", "in_progress"}
    db.session.delete(rows[0])
    db.session.commit()
    assert _states(consortium, partner.code)["indicators"] == "in_progress"
    for row in rows[1:]:
        db.session.delete(row)
    db.session.commit()
    assert _states(consortium, partner.code)["indicators"] == "missing"


def test_sign_off_valid_void_and_missing() -> None:
    consortium = make_consortium(3)
    signed = consortium.partners[1]  # signed in the demo
    assert _states(consortium, signed.code)["sign_off"] == "done"
    amount = db.session.scalar(select(BudgetAmount).where(BudgetAmount.partner_id == signed.id))
    amount.amount = amount.amount + 1
    db.session.commit()
    assert _states(consortium, signed.code)["sign_off"] == "void"
    for row in db.session.scalars(select(SignOff).where(SignOff.partner_id == signed.id)):
        db.session.delete(row)
    db.session.commit()
    assert _states(consortium, signed.code)["sign_off"] == "missing"


def test_required_annex_turns_done_once_uploaded() -> None:
    consortium = make_consortium(2)
    partner = consortium.partners[1]
    assert not any(key.startswith("annex:") for key in _states(consortium, partner.code))
    db.session.add(RequiredAnnex(consortium_id=consortium.id, kind=AnnexKind.COMMITMENT_LETTER))
    db.session.commit()
    assert _states(consortium, partner.code)["annex:commitment_letter"] == "missing"
    stored = store_bytes(b"%PDF-1.4 test", "application/pdf")
    db.session.add(
        Annex(
            consortium_id=consortium.id,
            partner_id=partner.id,
            kind=AnnexKind.COMMITMENT_LETTER,
            filename="lettre.pdf",
            file_id=stored.id,
            content_type="application/pdf",
            size=13,
        )
    )
    db.session.commit()
    assert _states(consortium, partner.code)["annex:commitment_letter"] == "done"
    assert _states(consortium, consortium.partners[0].code)["annex:commitment_letter"] == "missing"


def _count_queries(consortium: Consortium) -> int:
    statements: list[str] = []

    def count(*_args: object) -> None:
        statements.append("q")

    db.session.expire_all()
    event.listen(db.engine, "before_cursor_execute", count)
    try:
        owed_of(consortium)
    finally:
        event.remove(db.engine, "before_cursor_execute", count)
    return len(statements)


def test_fixed_number_of_queries_whatever_the_partner_count() -> None:
    small = make_consortium(3, slug="petit")
    large = make_consortium(12, slug="grand")
    for consortium in (small, large):
        db.session.add(RequiredAnnex(consortium_id=consortium.id, kind=AnnexKind.STATUTES))
    db.session.commit()
    _count_queries(small)  # the first run of a connection may set it up
    _count_queries(large)
    assert _count_queries(small) == _count_queries(large)  # the figures remembered
    for consortium in (small, large):
        consortium.title += " (modifié)"  # a new content version: the figures are read again
    db.session.commit()
    db.session.execute(select(1))  # the new transaction begun, as the first run above did
    assert _count_queries(small) == _count_queries(large)
