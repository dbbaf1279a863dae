"""Saving cells: conditional writes on the version each cell started from, one transaction per grid."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select, update

from app.auth.models import User
from app.budget.calculations import flat_rate
from app.budget.models import AmountKind, BudgetAmount
from app.commitments import cells
from app.commitments import services as entry
from app.commitments.cells import CellEdit
from app.consortia.models import Consortium, Partner, Role
from app.consortia.services import partner_by_code
from app.errors import Invalid, NotAllowed
from app.extensions import db
from tests.factories import make_consortium, make_member

OWN = "plie-sevran"


@pytest.fixture
def consortium() -> Consortium:
    return make_consortium()


@pytest.fixture
def own(consortium: Consortium) -> Partner:
    found = partner_by_code(consortium, OWN)
    assert found is not None
    return found


@pytest.fixture
def editor(consortium: Consortium) -> User:
    return make_member(consortium, Role.CONTRIBUTOR, OWN, email="contrib@exemple.fr")


def row(
    partner: Partner, year: int, code: str, kind: AmountKind = AmountKind.RESOURCE
) -> BudgetAmount | None:
    db.session.expire_all()
    return db.session.scalar(
        select(BudgetAmount).where(
            BudgetAmount.partner_id == partner.id,
            BudgetAmount.year == year,
            BudgetAmount.kind == kind,
            BudgetAmount.code == code,
        )
    )


def test_missing_cell_is_inserted_with_version_one_and_who(own: Partner, editor: User) -> None:
    assert row(own, 2020, "region_idf") is None
    changes = entry.save_budget(
        own, [CellEdit((2020, "resource", "region_idf"), (Decimal("10.00"),), 0)], by=editor
    )
    db.session.commit()
    saved = row(own, 2020, "region_idf")
    assert saved is not None
    assert saved.amount == Decimal("10.00")
    assert saved.version == 1
    assert saved.updated_by_id == editor.id
    assert changes[0].old is None


def test_insert_race_on_a_missing_cell_is_a_conflict(own: Partner, editor: User) -> None:
    # Someone else created the cell after this person read the grid (seen version 0).
    entry.save_budget(own, [CellEdit((2020, "resource", "region_idf"), (Decimal("5.00"),), 0)], by=editor)
    db.session.commit()
    with pytest.raises(cells.GridConflict) as raised:
        entry.save_budget(own, [CellEdit((2020, "resource", "region_idf"), (Decimal("7.00"),), 0)], by=editor)
    db.session.rollback()
    conflict = raised.value.conflicts[(2020, "resource", "region_idf")]
    assert conflict.theirs == (Decimal("5.00"),)
    assert conflict.version == 1
    assert conflict.by_name == editor.name
    assert row(own, 2020, "region_idf").amount == Decimal("5.00")  # type: ignore[union-attr]


def test_update_that_matches_no_row_because_version_moved_is_a_conflict(own: Partner, editor: User) -> None:
    stored = row(own, 2020, "personnel", AmountKind.EXPENSE)
    assert stored is not None
    seen = stored.version
    # Another transaction bumps the version between the read and the write.
    db.session.execute(update(BudgetAmount).where(BudgetAmount.id == stored.id).values(version=seen + 1))
    db.session.commit()
    with pytest.raises(cells.GridConflict):
        entry.save_budget(
            own, [CellEdit((2020, "expense", "personnel"), (Decimal("1.00"),), seen)], by=editor
        )
    db.session.rollback()
    assert row(own, 2020, "personnel", AmountKind.EXPENSE).amount == stored.amount  # type: ignore[union-attr]


def test_one_conflict_saves_nothing_of_the_grid(own: Partner, editor: User) -> None:
    personnel = row(own, 2020, "personnel", AmountKind.EXPENSE)
    assert personnel is not None
    edits = [
        CellEdit((2019, "resource", "region_idf"), (Decimal("3.00"),), 0),
        CellEdit((2020, "expense", "personnel"), (Decimal("1.00"),), personnel.version - 1 or 99),
    ]
    with pytest.raises(cells.GridConflict):
        entry.save_budget(own, edits, by=editor)
    db.session.rollback()
    assert row(own, 2019, "region_idf") is None


def test_same_value_typed_by_both_is_not_a_conflict(own: Partner, editor: User) -> None:
    stored = row(own, 2020, "personnel", AmountKind.EXPENSE)
    assert stored is not None
    changes = entry.save_budget(
        own, [CellEdit((2020, "expense", "personnel"), (stored.amount,), stored.version + 5)], by=editor
    )
    assert changes == []


def test_negative_amount_is_refused_by_the_service(own: Partner, editor: User) -> None:
    with pytest.raises(Invalid):
        entry.save_budget(own, [CellEdit((2020, "expense", "personnel"), (Decimal("-1.00"),), 1)], by=editor)


def test_unknown_year_or_code_is_refused(own: Partner, editor: User) -> None:
    with pytest.raises(Invalid):
        entry.save_budget(own, [CellEdit((2031, "expense", "personnel"), (Decimal("1.00"),), 0)], by=editor)
    with pytest.raises(Invalid):
        entry.save_budget(own, [CellEdit((2020, "resource", "inconnu"), (Decimal("1.00"),), 0)], by=editor)


def test_reader_is_not_allowed(consortium: Consortium, own: Partner) -> None:
    reader = make_member(consortium, Role.READER, email="lecteur@exemple.fr")
    with pytest.raises(NotAllowed):
        entry.save_budget(own, [CellEdit((2020, "expense", "personnel"), (Decimal("1.00"),), 1)], by=reader)


def test_grid_totals_use_the_flat_rate_half_up(own: Partner) -> None:
    grid = entry.budget_grid(own)
    amounts = dict(grid.amounts)
    amounts[(2020, "expense", "personnel")] = Decimal("10.05")
    totals = grid.totals(amounts)
    assert (
        totals.expenses[2020]["indirects"]
        == Decimal("1.51")
        == flat_rate(Decimal("0.15"), [Decimal("10.05")])
    )


def test_demo_grid_is_balanced_every_year(own: Partner) -> None:
    totals = entry.budget_grid(own).totals()
    assert totals.balanced
    assert totals.total_expenses == totals.total_resources
