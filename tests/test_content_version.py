"""The content version: every write to what the dossier shows moves it on, nothing else does; the
dossier's cache decides from it in one query, before building anything."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest
from flask import Flask
from sqlalchemy import select, update

from app import content_version
from app.audit import EventKind, record_event
from app.budget.models import BudgetAmount
from app.budget.services import consolidation_of
from app.commitments import services as commitments
from app.commitments.cells import CellEdit
from app.consortia.models import Consortium, Organisation, Role
from app.database import utcnow
from app.dossier import rendering
from app.dossier.models import DossierRender, RenderStatus
from app.extensions import db
from app.sections.models import Section, SectionPart
from app.sections.saving import save_part
from tests.conftest import QueryCounter
from tests.dossier.test_rendering import fake_renderer
from tests.factories import make_consortium, make_member


def _version(consortium: Consortium) -> int:
    return content_version.content_version(consortium.id)


def moves(consortium: Consortium, write: Callable[[], object]) -> bool:
    """Whether a committed write moved the consortium's content version."""
    before = _version(consortium)
    write()
    db.session.commit()
    return _version(consortium) > before


def _first_amount(consortium: Consortium) -> BudgetAmount:
    amount = db.session.scalars(
        select(BudgetAmount).where(BudgetAmount.partner_id == consortium.partners[0].id)
    ).first()
    assert amount is not None
    return amount


def _section(consortium: Consortium) -> Section:
    return db.session.scalars(
        select(Section).where(Section.consortium_id == consortium.id, Section.code == "diagnostic")
    ).one()


def test_writes_the_dossier_shows_move_the_version() -> None:
    consortium = make_consortium(3)
    coordinator = make_member(consortium, Role.COORDINATOR, "urtie-idf")
    amount = _first_amount(consortium)
    section = _section(consortium)

    def raise_amount() -> None:
        amount.amount += Decimal("10.00")

    def rename_organisation() -> None:
        organisation = db.session.get(Organisation, consortium.partners[0].organisation_id)
        assert organisation is not None
        organisation.name += " (nouveau nom)"

    def rename_call() -> None:
        consortium.call.name += " — session 2"

    def write_text() -> None:
        save_part(section, None, "<p>Un diagnostic revu.</p>", base_revision=0, by=coordinator)

    def rename_coordinator() -> None:
        coordinator.name = "Camille Nouveau-Nom"

    assert moves(consortium, raise_amount)  # through the partner
    assert moves(consortium, write_text)  # through the part and the section
    assert moves(consortium, rename_organisation)  # a shared row, through the partners using it
    assert moves(consortium, rename_call)
    assert moves(consortium, rename_coordinator)  # through the person's roles
    assert moves(consortium, lambda: setattr(consortium, "title", "Un autre titre"))


def test_a_budget_typed_in_the_grid_shows_on_the_next_page(app: Flask) -> None:
    """A cell typed for the first time is an INSERT statement, a changed one an UPDATE: both count."""
    consortium = make_consortium(3)
    other = make_consortium(3, slug="un-autre-consortium")
    partner = consortium.partners[0]
    coordinator = make_member(consortium, Role.COORDINATOR, "urtie-idf")
    grid = commitments.budget_grid(partner)
    empty = next(key for key in grid.editable_keys() if key not in grid.amounts)
    before = consolidation_of(consortium).consolidation
    other_version = _version(other)

    def type_cell(amount: str) -> None:
        seen = commitments.budget_grid(partner).versions.get(empty, 0)
        commitments.save_budget(partner, [CellEdit(empty, (Decimal(amount),), seen)], by=coordinator)

    assert moves(consortium, lambda: type_cell("1000.00"))
    after_insert = consolidation_of(consortium).consolidation
    assert after_insert != before
    assert moves(consortium, lambda: type_cell("1500.00"))
    assert consolidation_of(consortium).consolidation != after_insert
    assert _version(other) == other_version


def test_what_the_dossier_never_shows_leaves_the_version() -> None:
    consortium = make_consortium(3)
    coordinator = make_member(consortium, Role.COORDINATOR, "urtie-idf")
    other = make_consortium(3, slug="un-autre-consortium")
    amount = _first_amount(other)

    def log_in_again() -> None:
        coordinator.last_login_at = utcnow()

    def audit() -> None:
        record_event(EventKind.ACCESS_DENIED, actor_id=coordinator.id, consortium_id=consortium.id)

    def lock_counter() -> None:
        db.session.execute(
            update(SectionPart)
            .where(SectionPart.id == -1)
            .values(version=SectionPart.version + 1)
            .execution_options(content_of=content_version.NO_CONTENT)
        )

    def change_nothing() -> None:
        amount_self = _first_amount(consortium)
        amount_self.amount = amount_self.amount  # set to what it was: nothing changed

    assert not moves(consortium, log_in_again)
    assert not moves(consortium, audit)
    assert not moves(consortium, lock_counter)
    assert not moves(consortium, change_nothing)
    assert not moves(consortium, lambda: setattr(amount, "amount", amount.amount + 1))  # another one's


def test_a_bulk_update_that_does_not_say_whose_moves_every_consortium() -> None:
    consortium = make_consortium(3)
    other = make_consortium(3, slug="un-autre-consortium")
    before = _version(other)

    def bulk() -> None:
        db.session.execute(update(BudgetAmount).where(BudgetAmount.id == -1).values(amount=Decimal(0)))

    assert moves(consortium, bulk)
    assert _version(other) > before


def test_the_loaded_consortium_sees_its_new_version_after_a_write() -> None:
    consortium = make_consortium(3)
    before = consortium.content_version
    _first_amount(consortium).amount += Decimal(1)
    db.session.flush()
    assert consortium.content_version == before + 1


def test_a_cached_pdf_is_found_in_one_query_without_building_the_dossier(
    app: Flask, monkeypatch: pytest.MonkeyPatch, count_queries: QueryCounter
) -> None:
    monkeypatch.setitem(app.config, "JOBS_SYNCHRONOUS", True)
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    seen = fake_renderer(monkeypatch)
    consortium = make_consortium(3)
    first = rendering.request_pdf(consortium, final=False, by=None)
    db.session.commit()
    assert len(seen) == 1
    consortium = db.session.get(Consortium, consortium.id)  # as a request finds it
    assert consortium is not None

    def no_build(*_args: object, **_kwargs: object) -> None:
        raise AssertionError("the dossier was built for a cache hit")

    monkeypatch.setattr(rendering, "build_dossier", no_build)
    count_queries.statements.clear()
    again = rendering.request_pdf(consortium, final=False, by=None)
    assert again.id == first.id
    assert len(count_queries.statements) == 1, count_queries.statements
    assert "dossier_renders" in count_queries.statements[0]


def test_a_write_that_changes_nothing_shown_serves_the_same_pdf(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "JOBS_SYNCHRONOUS", True)
    monkeypatch.setitem(app.config, "REDIS_URL", None)
    seen = fake_renderer(monkeypatch)
    consortium = make_consortium(3)
    first = rendering.request_pdf(consortium, final=False, by=None)
    db.session.commit()
    amount = _first_amount(consortium)
    amount.amount += Decimal(1)
    db.session.commit()
    amount.amount -= Decimal(1)  # back to what it was: the version moved twice, the content is the same
    db.session.commit()
    again = rendering.request_pdf(consortium, final=False, by=None)
    db.session.commit()
    assert again.id == first.id
    assert len(seen) == 1
    kept = db.session.get(DossierRender, first.id)
    assert kept is not None
    assert kept.status == RenderStatus.DONE
    assert kept.content_key == rendering.content_key(consortium, final=False)


def test_the_remembered_dossier_follows_every_write() -> None:
    consortium = make_consortium(3)
    first = rendering.dossier_of(consortium)
    assert rendering.dossier_of(consortium) is first  # built once for this version
    consortium.title = "Un titre changé"
    db.session.commit()
    changed = rendering.dossier_of(consortium)
    assert changed.title == "Un titre changé"


def test_nothing_is_remembered_from_a_transaction_that_wrote_then_rolled_back() -> None:
    consortium = make_consortium(3)
    version = consortium.content_version
    consortium.title = "Un titre jamais enregistré"
    db.session.flush()
    inside = rendering.dossier_of(consortium)
    assert inside.title == "Un titre jamais enregistré"
    db.session.rollback()
    assert consortium.content_version == version
    consortium.acronym = "AUTRE"  # a real write, reaching the version the rolled back one had
    db.session.commit()
    assert rendering.dossier_of(consortium).title != "Un titre jamais enregistré"


def test_a_savepoint_released_inside_a_writing_transaction_remembers_nothing() -> None:
    consortium = make_consortium(3)
    with db.session.begin_nested():
        consortium.title = "Un titre jamais enregistré"
    rendering.dossier_of(consortium)  # the savepoint is over, the transaction is not
    db.session.rollback()
    consortium.acronym = "AUTRE"
    db.session.commit()
    assert rendering.dossier_of(consortium).title != "Un titre jamais enregistré"


def test_a_renamed_person_moves_every_consortium_but_a_login_moves_none() -> None:
    consortium = make_consortium(3)
    other = make_consortium(3, slug="un-autre-consortium")
    author = make_member(other, Role.COORDINATOR, "urtie-idf", email="ailleurs@exemple.fr")
    assert not moves(consortium, lambda: setattr(author, "last_login_at", utcnow()))
    assert moves(
        consortium, lambda: setattr(author, "name", "Quelqu'un d'autre")
    )  # names show where they wrote
