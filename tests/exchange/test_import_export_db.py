"""Exchange documents through the database: import, export, replace, all or nothing."""

from __future__ import annotations

import copy
import json
from datetime import datetime
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.audit import AuditEvent
from app.auth.models import User
from app.budget.models import ExpenseCategory
from app.consortia.models import Call, Consortium, Organisation, Partner
from app.errors import Invalid
from app.exchange import importer
from app.exchange.exporter import export_document
from app.exchange.importer import import_document
from app.exchange.serialisation import dumps
from app.exchange.validation import ExchangeInvalid, load_document, parse_document
from app.extensions import db
from tests.factories import DEMO_DOCUMENT, demo_data, make_user


def luhn_siret(first_thirteen: str) -> str:
    """A SIRET made valid by appending its Luhn check digit."""
    for check in "0123456789":
        digits = first_thirteen + check
        total = 0
        for position, character in enumerate(reversed(digits)):
            digit = int(character) * (2 if position % 2 else 1)
            total += digit - 9 if digit > 9 else digit
        if total % 10 == 0:
            return digits
    raise AssertionError("unreachable")


SIRET_A = luhn_siret("1234567800012")
SIRET_B = luhn_siret("9876543200017")


def as_text(data: dict[str, Any]) -> str:
    """A document dict written the way the format's files are (the demos are written so)."""
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def import_text(text: str, *, replace: bool = False) -> Consortium:
    consortium = import_document(load_document(text), replace=replace)
    db.session.commit()
    return consortium


def export_text(slug: str, at: str) -> str:
    """The consortium exported now, stamped with `at` so two exports compare byte for byte."""
    consortium = db.session.scalar(select(Consortium).where(Consortium.slug == slug))
    assert consortium is not None
    return dumps(export_document(consortium, at=datetime.fromisoformat(at)))


def round_trip(data: dict[str, Any]) -> str:
    """Import the document, export it with the document's own `exported_at`."""
    consortium = import_text(as_text(data))
    return export_text(consortium.slug, data["exported_at"])


def count(model: type[Any]) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_demo_exported_from_the_database_is_the_source_file_byte_for_byte() -> None:
    source = DEMO_DOCUMENT.read_text(encoding="utf-8")
    exported_at = json.loads(source)["exported_at"]

    consortium = import_text(source)

    assert export_text(consortium.slug, exported_at) == source


def test_export_then_replacing_import_then_export_gives_the_same_document() -> None:
    consortium = import_text(DEMO_DOCUMENT.read_text(encoding="utf-8"))
    first = dumps(export_document(consortium))
    first_at = json.loads(first)["exported_at"]

    again = import_text(first, replace=True)

    assert export_text(again.slug, first_at) == first
    assert count(Consortium) == 1


def with_extensions(data: dict[str, Any]) -> dict[str, Any]:
    """The demo with "extensions" objects at every level the format allows, of every JSON kind."""
    data = copy.deepcopy(data)
    rich = {
        "zeta": "premier écrit, gardé en premier",
        "alpha": [1, 2.5, None, True, {"nested": {"deep": ["ü", "€"]}}],
        "big": 12345678901234567890,
        "empty": {},
    }
    data["call"]["extensions"] = {"source": "appel-2019", "rich": rich}
    data["call"]["rules"]["extensions"] = {"note": "règle locale"}
    data["consortium"]["extensions"] = {"crm_id": 4242}
    data["budget_model"]["expense_categories"][0]["extensions"] = {"compte": "641"}
    data["budget_model"]["funders"][2]["extensions"] = {"programme": "PO national"}
    data["budget_model"]["indirect_costs"]["extensions"] = {"base_legale": "art. 68"}
    data["budget_model"]["extensions"] = {"version": 3}
    data["indicators"][0]["extensions"] = {"unite": "personnes"}
    data["sections"][1]["extensions"] = {"gabarit": "B2"}
    partner = data["partners"][1]
    partner["contacts"][0]["extensions"] = {"telephone": "+33 1 23 45 67 89"}
    partner["sign_off"]["extensions"] = {"signature": "manuscrite"}
    partner["extensions"] = {"rich": rich}
    data["extensions"] = {"outil": "tableur", "rich": rich}
    return data


def test_extensions_at_every_level_come_back_unchanged_through_the_database() -> None:
    data = with_extensions(demo_data())

    exported = round_trip(data)

    assert exported == as_text(data)
    assert json.loads(exported)["partners"][1]["extensions"]["rich"]["big"] == 12345678901234567890


def test_extensions_survive_export_replace_import_export() -> None:
    data = with_extensions(demo_data())
    first = round_trip(data)

    import_text(first, replace=True)

    assert export_text("cap-remob-idf", data["exported_at"]) == first


def test_computed_indirect_costs_given_on_import_are_recomputed_half_up() -> None:
    data = demo_data()
    year = data["partners"][2]["budget"]["2021"]["expenses"]
    year["personnel"] = "10.30"  # 15 % = 1.545: half-up gives 1.55 (half-even would give 1.54)
    year["indirects"] = "99999.99"

    exported = json.loads(round_trip(data))

    assert exported["partners"][2]["budget"]["2021"]["expenses"]["indirects"] == "1.55"
    assert exported["partners"][2]["budget"]["2021"]["expenses"]["personnel"] == "10.30"


def test_withdrawn_partner_is_exported_with_all_its_data() -> None:
    data = demo_data()
    data["partners"][5]["status"] = "withdrawn"

    exported = json.loads(round_trip(data))

    assert exported["partners"][5] == data["partners"][5]
    assert exported["partners"][5]["status"] == "withdrawn"
    assert exported["partners"][5]["budget"]["2020"]["expenses"]["personnel"] != "0.00"


def test_siret_is_kept_through_the_database() -> None:
    data = demo_data()
    data["partners"][2]["siret"] = SIRET_A

    exported = json.loads(round_trip(data))

    assert exported["partners"][2]["siret"] == SIRET_A
    assert [p["siret"] for i, p in enumerate(exported["partners"]) if i != 2] == [None] * 11


@pytest.mark.parametrize("at", ["2019-08-20T10:00:00-03:30", "2019-08-20T16:45:00+05:45"])
def test_sign_off_time_keeps_its_utc_offset(at: str) -> None:
    data = demo_data()
    data["partners"][1]["sign_off"]["at"] = at

    exported = json.loads(round_trip(data))

    assert exported["partners"][1]["sign_off"]["at"] == at


def test_two_partners_with_the_same_name_keep_their_own_details() -> None:
    data = demo_data()
    first, second = data["partners"][2], data["partners"][3]
    second["name"], second["departement"] = first["name"], first["departement"]
    second["territory"] = "Un autre territoire"

    exported = round_trip(data)

    assert exported == as_text(data)


def test_another_consortium_with_a_same_named_partner_does_not_change_the_first_ones_siret() -> None:
    first = demo_data()
    first["partners"][2]["siret"] = SIRET_A
    import_text(as_text(first))
    second = demo_data(slug="autre-consortium")
    second["partners"][2]["siret"] = SIRET_B

    import_text(as_text(second))

    assert export_text("cap-remob-idf", first["exported_at"]) == as_text(first)
    assert export_text("autre-consortium", second["exported_at"]) == as_text(second)


def test_two_partners_with_the_same_siret_are_refused_with_the_path_and_nothing_is_imported() -> None:
    data = demo_data()
    data["partners"][2]["siret"] = SIRET_A
    data["partners"][7]["siret"] = SIRET_A

    with pytest.raises(ExchangeInvalid) as refused:
        import_document(parse_document(data))
    db.session.commit()

    assert refused.value.errors == [
        f"partners[7].siret: SIRET « {SIRET_A} » en double (déjà en partners[2].siret)"
    ]
    assert (count(Consortium), count(Partner), count(Organisation), count(Call)) == (0, 0, 0, 0)


def test_existing_slug_is_refused_without_replace_and_left_as_it_was() -> None:
    source = DEMO_DOCUMENT.read_text(encoding="utf-8")
    import_text(source)
    changed = demo_data()
    changed["consortium"]["title"] = "Un autre titre"

    with pytest.raises(Invalid, match="existe déjà"):
        import_document(parse_document(changed))
    db.session.commit()

    assert export_text("cap-remob-idf", changed["exported_at"]) == source


def _duplicate_category_then_record(*args: Any, **kwargs: Any) -> None:
    """Stands for a database failure at the very end of an import: a unique constraint breaks."""
    consortium = db.session.scalar(select(Consortium).order_by(Consortium.id.desc()).limit(1))
    assert consortium is not None
    db.session.add(ExpenseCategory(consortium_id=consortium.id, code="personnel", label="Doublon"))
    db.session.flush()


def test_database_error_mid_import_leaves_nothing_and_keeps_the_callers_own_work(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(importer, "record_event", _duplicate_category_then_record)
    user = make_user("avant@exemple.fr")
    user.name = "Modifié avant l'import"

    with pytest.raises(IntegrityError):
        import_document(parse_document(demo_data()))
    db.session.commit()

    assert (count(Consortium), count(Partner), count(Organisation), count(Call)) == (0, 0, 0, 0)
    db.session.expire_all()
    assert user.name == "Modifié avant l'import"


def test_database_error_mid_replace_keeps_the_previous_consortium(monkeypatch: pytest.MonkeyPatch) -> None:
    source = DEMO_DOCUMENT.read_text(encoding="utf-8")
    import_text(source)
    changed = demo_data()
    changed["consortium"]["title"] = "Remplacement raté"
    monkeypatch.setattr(importer, "record_event", _duplicate_category_then_record)

    with pytest.raises(IntegrityError):
        import_document(parse_document(changed), replace=True)
    db.session.commit()

    assert export_text("cap-remob-idf", changed["exported_at"]) == source


def test_replacing_import_records_who_did_it_and_later_changes_to_their_account_are_saved() -> None:
    import_text(DEMO_DOCUMENT.read_text(encoding="utf-8"))
    coordinator = make_user("coord@exemple.fr", name="Claire")

    import_document(load_document(DEMO_DOCUMENT.read_bytes()), replace=True, by=coordinator)
    coordinator.name = "Claire B."  # what the same request may still do with the person's account
    db.session.commit()

    db.session.expire_all()
    assert db.session.scalar(select(User.name).where(User.id == coordinator.id)) == "Claire B."
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "consortium.imported")).all()
    assert [(e.actor_id, e.data["replaced"]) for e in events] == [(None, False), (coordinator.id, True)]


def test_another_consortium_on_the_same_call_never_changes_the_first_ones_rules() -> None:
    first = import_document(parse_document(demo_data()))
    other = demo_data(slug="autre-consortium")
    other["call"]["rules"]["min_total_cost"] = "5000000.00"
    other["call"]["name"] = "Nom modifié"
    second = import_document(parse_document(other))
    db.session.commit()

    assert first.call_id != second.call_id
    assert str(first.call.min_total_cost) == "1000000.00"
    assert first.call.name == "100 % inclusion – la fabrique de la remobilisation"
    assert str(second.call.min_total_cost) == "5000000.00"


def test_replacing_a_consortium_leaves_no_orphan_call() -> None:
    import_document(parse_document(demo_data()))
    db.session.commit()
    import_document(parse_document(demo_data()), replace=True)
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(Call)) == 1
