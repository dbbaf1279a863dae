"""Editing a consortium's settings and budget model: free until the first amount, then guarded."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from app.audit import AuditEvent
from app.auth.models import User
from app.budget import lines
from app.budget.models import AmountKind, BudgetAmount, ExpenseCategory, Funder, FunderGroup, IndicatorValue
from app.consortia.models import Consortium, Role
from app.consortia.validation import InvalidFields
from app.errors import Invalid, NotAllowed
from app.extensions import db
from app.opening import services as opening_services
from app.opening.defaults import IndirectRule
from app.opening.settings import (
    CallInput,
    CallRulesInput,
    SettingsInput,
    current_indirect_rule,
    update_settings,
)
from tests.factories import make_consortium, make_member, make_user
from tests.opening.test_services import opening


@pytest.fixture
def admin() -> User:
    return make_user("admin@exemple.fr", name="Admin", admin=True)


@pytest.fixture
def fresh(admin: User) -> Consortium:
    """A consortium just opened (2035-2038, 15 % of staff costs), without any amount."""
    consortium = opening_services.open_consortium(opening(), by=admin)
    db.session.commit()
    return consortium


def settings_of(consortium: Consortium, **changes: Any) -> SettingsInput:
    """The consortium's current settings, with `changes` applied."""
    call = consortium.call
    current = SettingsInput(
        title=consortium.title,
        acronym=consortium.acronym,
        project_start=consortium.project_start,
        project_end=consortium.project_end,
        call=CallInput(
            call.name,
            call.submission_deadline,
            CallRulesInput(
                min_total_cost=call.min_total_cost,
                min_duration_months=call.min_duration_months,
                max_duration_months=call.max_duration_months,
                main_funder=call.main_funder,
                main_funder_share_min=call.main_funder_share_min,
                main_funder_share_max=call.main_funder_share_max,
                min_local_cofunding_share=call.min_local_cofunding_share,
                balance_tolerance=call.balance_tolerance,
            ),
        ),
        indirect_rule=current_indirect_rule(consortium),
    )
    return replace(current, **changes)


def add_amount(consortium: Consortium, year: int, kind: AmountKind, code: str, amount: str) -> None:
    assert consortium.lead_partner is not None
    db.session.add(
        BudgetAmount(partner=consortium.lead_partner, year=year, kind=kind, code=code, amount=Decimal(amount))
    )
    db.session.commit()


def category_codes(consortium: Consortium) -> list[str]:
    return [category.code for category in lines.categories_of(consortium)]


def funder_codes(consortium: Consortium) -> list[str]:
    return [funder.code for funder in lines.funders_of(consortium)]


def events(kind: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.kind == kind).order_by(AuditEvent.id)))


def test_settings_change_title_period_and_rules_with_old_and_new_in_the_audit(
    fresh: Consortium, admin: User
) -> None:
    rules = replace(settings_of(fresh).call.rules, min_total_cost=Decimal("2000000.00"))
    changes = update_settings(
        fresh,
        settings_of(
            fresh,
            title="Passerelles 94",
            project_end=date(2039, 2, 28),
            call=CallInput("Appel renommé", date(2035, 7, 15), rules),
        ),
        by=admin,
    )
    db.session.commit()

    assert fresh.title == "Passerelles 94"
    assert fresh.years == [2035, 2036, 2037, 2038, 2039]
    assert fresh.call.min_total_cost == Decimal("2000000.00")
    assert set(changes) == {
        "title",
        "project_end",
        "years",
        "call.name",
        "call.submission_deadline",
        "call.min_total_cost",
    }
    [event] = events("consortium.settings_changed")
    assert event.actor_id == admin.id
    assert event.data["changes"]["title"] == {
        "old": "Passerelles Emploi Val-de-Marne",
        "new": "Passerelles 94",
    }
    assert event.data["changes"]["call.min_total_cost"] == {"old": "1000000.00", "new": "2000000.00"}
    assert event.data["changes"]["years"]["new"] == [2035, 2036, 2037, 2038, 2039]


def test_saving_unchanged_settings_records_nothing(fresh: Consortium, admin: User) -> None:
    assert update_settings(fresh, settings_of(fresh), by=admin) == {}
    assert events("consortium.settings_changed") == []


def test_the_period_can_be_shortened_freely_before_any_amount(fresh: Consortium, admin: User) -> None:
    update_settings(fresh, settings_of(fresh, project_end=date(2036, 12, 31)), by=admin)
    assert fresh.years == [2035, 2036]


def test_shortening_the_period_over_a_year_with_amounts_is_refused_naming_it(
    fresh: Consortium, admin: User
) -> None:
    add_amount(fresh, 2038, AmountKind.EXPENSE, "personnel", "1000")

    with pytest.raises(InvalidFields) as raised:
        update_settings(fresh, settings_of(fresh, project_end=date(2037, 12, 31)), by=admin)

    [message] = raised.value.errors["project_end"]
    assert "l'année 2038 sortirait de la période" in message
    assert "1 montant saisi (PLIE du Val-de-Marne)" in message
    db.session.rollback()
    assert fresh.project_end == date(2038, 8, 31)
    assert fresh.years == [2035, 2036, 2037, 2038]


def test_a_year_holding_only_zeros_may_leave_the_period_and_its_zeros_go(
    fresh: Consortium, admin: User
) -> None:
    add_amount(fresh, 2038, AmountKind.EXPENSE, "personnel", "0")

    update_settings(fresh, settings_of(fresh, project_end=date(2037, 12, 31)), by=admin)
    db.session.commit()

    assert fresh.years == [2035, 2036, 2037]
    assert db.session.scalar(select(func.count()).select_from(BudgetAmount)) == 0


def test_a_year_holding_indicator_targets_may_not_leave_the_period(fresh: Consortium, admin: User) -> None:
    assert fresh.lead_partner is not None
    db.session.add(IndicatorValue(partner=fresh.lead_partner, code="entrees", year=2035, value=12))
    db.session.commit()

    with pytest.raises(InvalidFields) as raised:
        update_settings(fresh, settings_of(fresh, project_start=date(2036, 1, 1)), by=admin)

    assert "1 objectif d'indicateur" in raised.value.errors["project_start"][0]


def test_lengthening_the_period_is_always_allowed(fresh: Consortium, admin: User) -> None:
    add_amount(fresh, 2038, AmountKind.EXPENSE, "personnel", "1000")
    update_settings(fresh, settings_of(fresh, project_end=date(2039, 6, 30)), by=admin)
    assert fresh.years == [2035, 2036, 2037, 2038, 2039]


def test_end_before_start_and_bad_rules_are_refused_in_settings(fresh: Consortium, admin: User) -> None:
    rules = replace(
        settings_of(fresh).call.rules,
        main_funder_share_min=Decimal("0.9"),
        main_funder_share_max=Decimal("0.1"),
    )
    with pytest.raises(InvalidFields) as raised:
        update_settings(
            fresh,
            settings_of(fresh, project_end=date(2020, 1, 1), call=CallInput("Appel", None, rules)),
            by=admin,
        )
    assert set(raised.value.errors) == {"project_end", "main_funder_share_max"}


def test_switching_between_flat_rates_changes_rate_and_base(fresh: Consortium, admin: User) -> None:
    add_amount(fresh, 2035, AmountKind.EXPENSE, "personnel", "1000")

    update_settings(fresh, settings_of(fresh, indirect_rule=IndirectRule.DIRECT_20), by=admin)

    assert fresh.indirect_rate == Decimal("0.20")
    assert fresh.indirect_base == ["personnel", "fonctionnement", "participants"]
    [event] = events("consortium.settings_changed")
    assert event.data["changes"]["indirect_rule"] == {"old": "personnel-15", "new": "directs-20"}


def test_switching_to_actual_costs_makes_the_line_typed_and_renames_it(
    fresh: Consortium, admin: User
) -> None:
    add_amount(fresh, 2035, AmountKind.EXPENSE, "personnel", "1000")

    update_settings(fresh, settings_of(fresh, indirect_rule=IndirectRule.ACTUAL), by=admin)

    indirects = lines.categories_of(fresh)[-1]
    assert (indirects.code, indirects.computed, indirects.label) == (
        "indirects",
        False,
        "Coûts indirects (frais réels)",
    )
    assert fresh.indirect_category is None
    assert fresh.indirect_rate is None


def test_back_to_a_flat_rate_is_refused_once_actual_indirect_costs_are_typed(admin: User) -> None:
    consortium = opening_services.open_consortium(opening(indirect_rule=IndirectRule.ACTUAL), by=admin)
    db.session.commit()
    add_amount(consortium, 2036, AmountKind.EXPENSE, "indirects", "2500")

    with pytest.raises(InvalidFields) as raised:
        update_settings(consortium, settings_of(consortium, indirect_rule=IndirectRule.STAFF_15), by=admin)

    [message] = raised.value.errors["indirect_rule"]
    assert "Impossible de passer au forfait" in message
    assert "« Coûts indirects (frais réels) » porte 1 montant saisi" in message


def test_back_to_a_flat_rate_is_free_while_actual_indirect_costs_are_empty(admin: User) -> None:
    consortium = opening_services.open_consortium(opening(indirect_rule=IndirectRule.ACTUAL), by=admin)
    db.session.commit()
    add_amount(consortium, 2036, AmountKind.EXPENSE, "indirects", "0")

    update_settings(consortium, settings_of(consortium, indirect_rule=IndirectRule.STAFF_40), by=admin)

    indirects = lines.categories_of(consortium)[-1]
    assert indirects.computed
    assert indirects.label == "Coûts indirects (forfait)"
    assert consortium.indirect_category == "indirects"
    assert db.session.scalar(select(func.count()).select_from(BudgetAmount)) == 0


def test_a_flat_rate_on_a_removed_base_category_is_refused(admin: User) -> None:
    consortium = opening_services.open_consortium(opening(indirect_rule=IndirectRule.ACTUAL), by=admin)
    lines.remove_category(consortium, "participants", by=admin)

    with pytest.raises(InvalidFields) as raised:
        update_settings(consortium, settings_of(consortium, indirect_rule=IndirectRule.DIRECT_20), by=admin)

    assert "absentes du modèle (participants)" in raised.value.errors["indirect_rule"][0]


def test_a_flat_rate_recreates_a_removed_indirect_line(admin: User) -> None:
    consortium = opening_services.open_consortium(opening(indirect_rule=IndirectRule.ACTUAL), by=admin)
    lines.remove_category(consortium, "indirects", by=admin)

    update_settings(consortium, settings_of(consortium, indirect_rule=IndirectRule.STAFF_15), by=admin)

    assert category_codes(consortium)[-1] == "indirects"
    assert lines.categories_of(consortium)[-1].computed


def test_an_imported_custom_rate_is_kept_when_the_rule_is_not_changed(admin: User) -> None:
    demo = make_consortium()
    demo.indirect_rate = Decimal("0.12")
    db.session.commit()
    assert current_indirect_rule(demo) is None

    update_settings(demo, settings_of(demo, title="Autre titre", indirect_rule=None), by=admin)

    assert demo.indirect_rate == Decimal("0.12")


def test_categories_can_be_added_renamed_moved_and_removed_before_any_amount(
    fresh: Consortium, admin: User
) -> None:
    added = lines.add_category(fresh, "Frais de déplacement", by=admin)
    assert added.code == "frais_de_deplacement"
    lines.rename_category(fresh, "frais_de_deplacement", "Déplacements des référents", by=admin)
    lines.move_category(fresh, "frais_de_deplacement", -1, by=admin)
    lines.remove_category(fresh, "prestations", by=admin)
    db.session.commit()

    assert category_codes(fresh) == [
        "personnel",
        "fonctionnement",
        "participants",
        "frais_de_deplacement",
        "indirects",
    ]
    assert [c.position for c in lines.categories_of(fresh)] == [0, 1, 2, 3, 4]
    assert [
        e.kind for e in db.session.scalars(select(AuditEvent).where(AuditEvent.kind.like("budget_model.%")))
    ] == [
        "budget_model.category_added",
        "budget_model.category_renamed",
        "budget_model.category_moved",
        "budget_model.category_removed",
    ]
    renamed = events("budget_model.category_renamed")[0]
    assert renamed.data["old"] == "Frais de déplacement"
    assert renamed.data["new"] == "Déplacements des référents"


def test_a_category_with_amounts_cannot_be_removed(fresh: Consortium, admin: User) -> None:
    add_amount(fresh, 2036, AmountKind.EXPENSE, "prestations", "1 500".replace(" ", ""))

    with pytest.raises(Invalid) as raised:
        lines.remove_category(fresh, "prestations", by=admin)

    assert str(raised.value) == (
        "Impossible de retirer « Prestations de services externes » : 1 montant y est saisi "
        "(PLIE du Val-de-Marne). Remettez-le à zéro d'abord, ou gardez cette catégorie."
    )
    db.session.rollback()
    assert "prestations" in category_codes(fresh)


def test_harmless_changes_stay_allowed_once_amounts_are_entered(fresh: Consortium, admin: User) -> None:
    add_amount(fresh, 2036, AmountKind.EXPENSE, "prestations", "1500")
    assert lines.has_amounts(fresh)

    lines.rename_category(fresh, "prestations", "Prestations externes", by=admin)
    lines.move_category(fresh, "prestations", 1, by=admin)
    lines.add_category(fresh, "Investissements", by=admin)
    lines.update_funder(fresh, "fse", "FSE+", FunderGroup.UE, by=admin)
    lines.move_funder(fresh, "fse", -1, by=admin)
    lines.add_funder(fresh, "Fondation X", FunderGroup.PRIVES, by=admin)
    lines.remove_funder(fresh, "prives", by=admin)

    assert category_codes(fresh)[2:4] == ["participants", "prestations"]
    assert funder_codes(fresh)[:3] == ["pic_etat", "fse", "autres_etat"]


def test_the_indirect_line_and_the_base_of_the_flat_rate_cannot_be_removed(
    fresh: Consortium, admin: User
) -> None:
    with pytest.raises(Invalid, match="porte le forfait des coûts indirects"):
        lines.remove_category(fresh, "indirects", by=admin)
    with pytest.raises(Invalid, match="sert de base au forfait"):
        lines.remove_category(fresh, "personnel", by=admin)


def test_a_funder_with_amounts_or_the_main_funder_cannot_be_removed(fresh: Consortium, admin: User) -> None:
    add_amount(fresh, 2035, AmountKind.RESOURCE, "fse", "4082")

    with pytest.raises(
        Invalid, match="Impossible de retirer « Fonds social européen » : 1 montant y est saisi"
    ):
        lines.remove_funder(fresh, "fse", by=admin)
    with pytest.raises(Invalid, match="financeur principal de l'appel"):
        lines.remove_funder(fresh, "pic_etat", by=admin)
    db.session.rollback()
    assert {"fse", "pic_etat"} <= set(funder_codes(fresh))


def test_removal_message_names_a_few_partners_and_counts_the_others(admin: User) -> None:
    demo = make_consortium()
    with pytest.raises(Invalid) as raised:
        lines.remove_funder(demo, "fse", by=admin)
    message = str(raised.value)
    assert message.startswith("Impossible de retirer « Fonds social européen » : ")
    assert "montants y sont saisis" in message
    assert "autres membres)" in message


def test_labels_must_be_given_and_distinct(fresh: Consortium, admin: User) -> None:
    with pytest.raises(InvalidFields) as raised:
        lines.add_category(fresh, "   ", by=admin)
    assert raised.value.errors == {"label": ["Ce champ est obligatoire."]}
    with pytest.raises(InvalidFields) as raised:
        lines.rename_category(fresh, "personnel", "dépenses directes de FONCTIONNEMENT", by=admin)
    assert raised.value.errors == {"label": ["Une autre ligne porte déjà ce libellé."]}
    with pytest.raises(InvalidFields):
        lines.add_funder(fresh, "x" * 301, FunderGroup.ETAT, by=admin)


def test_the_last_typed_category_and_the_last_funder_stay(admin: User) -> None:
    consortium = opening_services.open_consortium(opening(indirect_rule=IndirectRule.ACTUAL), by=admin)
    for code in ["fonctionnement", "prestations", "participants", "indirects"]:
        lines.remove_category(consortium, code, by=admin)
    with pytest.raises(Invalid, match="au moins une catégorie"):
        lines.remove_category(consortium, "personnel", by=admin)
    consortium.call.main_funder = None
    for code in funder_codes(consortium)[1:]:
        lines.remove_funder(consortium, code, by=admin)
    with pytest.raises(Invalid, match="au moins un financeur"):
        lines.remove_funder(consortium, "pic_etat", by=admin)


def test_new_codes_never_collide_with_existing_ones(fresh: Consortium, admin: User) -> None:
    first = lines.add_funder(fresh, "Autofinancement !", FunderGroup.AUTOFINANCEMENT, by=admin)
    assert first.code == "autofinancement_2"
    emoji = lines.add_category(fresh, "🚀", by=admin)
    assert emoji.code == "categorie"


def test_moving_past_the_ends_does_nothing(fresh: Consortium, admin: User) -> None:
    lines.move_category(fresh, "personnel", -1, by=admin)
    lines.move_funder(fresh, "autofinancement", 1, by=admin)
    assert category_codes(fresh)[0] == "personnel"
    assert funder_codes(fresh)[-1] == "autofinancement"
    assert events("budget_model.category_moved") == []


def test_only_coordinators_and_admins_edit_settings(fresh: Consortium) -> None:
    demo = make_consortium()
    coordinator_elsewhere = make_member(demo, Role.COORDINATOR, "urtie-idf")

    with pytest.raises(NotAllowed):
        update_settings(fresh, settings_of(fresh, title="Piratage"), by=coordinator_elsewhere)
    with pytest.raises(NotAllowed):
        lines.add_category(fresh, "Piratage", by=coordinator_elsewhere)
    with pytest.raises(NotAllowed):
        lines.remove_funder(fresh, "fse", by=coordinator_elsewhere)


def test_signed_off_partners_are_counted(admin: User) -> None:
    demo = make_consortium()
    assert lines.signed_off_partners(demo) > 0
    assert lines.has_amounts(demo)


def test_zero_amounts_go_with_a_removed_funder(fresh: Consortium, admin: User) -> None:
    add_amount(fresh, 2035, AmountKind.RESOURCE, "fse", "0.00")
    lines.remove_funder(fresh, "fse", by=admin)
    assert db.session.scalar(select(func.count()).select_from(BudgetAmount)) == 0
    assert db.session.scalar(select(func.count()).select_from(Funder).where(Funder.code == "fse")) == 0
    assert (
        db.session.scalar(
            select(func.count()).select_from(ExpenseCategory).where(ExpenseCategory.consortium_id == fresh.id)
        )
        == 5
    )


def test_a_deadline_moved_into_the_past_or_after_the_start_is_refused(fresh: Consortium, admin: User) -> None:
    call = settings_of(fresh).call
    for deadline, field in ((date(2019, 9, 3), "submission_deadline"), (date(2035, 12, 1), "project_start")):
        with pytest.raises(InvalidFields) as raised:
            update_settings(
                fresh, settings_of(fresh, call=replace(call, submission_deadline=deadline)), by=admin
            )
        assert list(raised.value.errors) == [field]
    assert fresh.call.submission_deadline == date(2035, 6, 30)


def test_a_deadline_that_passed_since_does_not_block_other_settings(fresh: Consortium, admin: User) -> None:
    fresh.call.submission_deadline = date(2019, 9, 3)
    db.session.commit()

    update_settings(fresh, settings_of(fresh, title="Nouveau titre"), by=admin)

    assert fresh.title == "Nouveau titre"
