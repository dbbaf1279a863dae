"""Opening a consortium (app.opening.services.open_consortium): what it creates, what it refuses."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from app.audit import AuditEvent
from app.auth.models import User
from app.budget.models import ExpenseCategory, Funder, IndicatorDefinition
from app.consortia.models import Call, Consortium, Organisation, Role, RoleGrant
from app.consortia.validation import InvalidFields, slug_from
from app.errors import NotAllowed
from app.exchange.exporter import export_document
from app.exchange.serialisation import document_to_dict
from app.exchange.validation import parse_document
from app.extensions import db
from app.opening import services as opening_services
from app.opening.defaults import DEFAULTS_FILE, IndirectRule, defaults
from app.opening.services import OpeningInput, OrganisationInput, open_consortium
from app.opening.settings import CallInput, CallRulesInput, current_indirect_rule
from app.permissions import can_manage_consortium
from app.sections.models import Section
from tests.factories import make_consortium, make_member, make_user

VALID_SIRET = "73282932000074"  # passes the Luhn check

PIC_RULES = CallRulesInput(
    min_total_cost=Decimal("1000000.00"),
    min_duration_months=24,
    max_duration_months=36,
    main_funder="pic_etat",
    main_funder_share_min=Decimal("0.60"),
    main_funder_share_max=Decimal("0.80"),
    min_local_cofunding_share=Decimal("0.20"),
    balance_tolerance=Decimal("0.00"),
)


def opening(**changes: Any) -> OpeningInput:
    """A valid opening with a new call and a new lead organisation; `changes` replace fields."""
    base = OpeningInput(
        title="Passerelles Emploi Val-de-Marne",
        acronym="PASSERELLES",
        slug="passerelles-94",
        project_start=date(2035, 9, 1),
        project_end=date(2038, 8, 31),
        indirect_rule=IndirectRule.STAFF_15,
        new_call=CallInput("100 % inclusion – vague 4", date(2035, 6, 30), PIC_RULES),
        new_organisation=OrganisationInput(
            name="PLIE du Val-de-Marne",
            kind="PLIE",
            departement="94",
            territory="Créteil, Vitry-sur-Seine",
            siret=VALID_SIRET,
            address="1 rue de l'Exemple\n94000 Créteil",
        ),
    )
    return replace(base, **changes)


@pytest.fixture
def admin() -> User:
    return make_user("admin@exemple.fr", name="Admin", admin=True)


def errors_of(raised: pytest.ExceptionInfo[InvalidFields]) -> dict[str, list[str]]:
    return raised.value.errors


def test_defaults_file_holds_the_inclusion_model_and_the_sixteen_chapters() -> None:
    settings = defaults()
    assert [c.code for c in settings.expense_categories] == [
        "personnel",
        "fonctionnement",
        "prestations",
        "participants",
        "indirects",
    ]
    assert len(settings.funders) == 9
    assert settings.main_funder == "pic_etat"
    assert len(settings.indicators) == 13
    assert len(settings.sections) == 16
    assert settings.sections[0].code == "identite"
    assert settings.sections[0].generated
    assert settings.sections[-1].code == "annexes"
    raw = json.loads(DEFAULTS_FILE.read_text(encoding="utf-8"))
    assert all("content" not in s and "status" not in s for s in raw["sections"])


def test_opening_creates_consortium_with_lead_partner_default_model_and_chapters(admin: User) -> None:
    consortium = open_consortium(opening(), by=admin)
    db.session.commit()

    assert consortium.slug == "passerelles-94"
    assert consortium.years == [2035, 2036, 2037, 2038]
    lead = consortium.lead_partner
    assert lead is not None
    assert lead.name == "PLIE du Val-de-Marne"
    assert lead.code == "plie-du-val-de-marne"
    assert [p.code for p in consortium.partners] == [lead.code]
    categories = db.session.scalars(
        select(ExpenseCategory)
        .where(ExpenseCategory.consortium_id == consortium.id)
        .order_by(ExpenseCategory.position)
    ).all()
    assert [(c.code, c.computed) for c in categories][-1] == ("indirects", True)
    assert consortium.indirect_category == "indirects"
    assert consortium.indirect_rate == Decimal("0.15")
    assert consortium.indirect_base == ["personnel"]
    funders = db.session.scalars(select(Funder).where(Funder.consortium_id == consortium.id)).all()
    assert {f.code for f in funders} == {f.code for f in defaults().funders}
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(IndicatorDefinition)
            .where(IndicatorDefinition.consortium_id == consortium.id)
        )
        == 13
    )
    sections = db.session.scalars(
        select(Section).where(Section.consortium_id == consortium.id).order_by(Section.position)
    ).all()
    assert [s.position for s in sections] == list(range(1, 17))
    assert sections[2].code == "diagnostic"
    assert sections[2].max_chars_per_partner == 2000


def test_opening_makes_the_acting_person_coordinator_and_leaves_an_audit_event(admin: User) -> None:
    consortium = open_consortium(opening(), by=admin)
    db.session.commit()

    grant = db.session.scalar(select(RoleGrant).where(RoleGrant.user_id == admin.id))
    assert grant is not None
    assert grant.role == Role.COORDINATOR
    assert grant.partner_id == consortium.lead_partner_id
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.kind == "consortium.opened"))
    assert event is not None
    assert event.actor_id == admin.id
    assert event.consortium_id == consortium.id
    assert event.data["slug"] == "passerelles-94"
    assert event.data["indirect_rule"] == "personnel-15"
    assert event.data["lead"]["reused"] is False


def test_a_coordinator_of_another_consortium_may_open_one() -> None:
    demo = make_consortium()
    coordinator = make_member(demo, Role.COORDINATOR, "urtie-idf")

    consortium = open_consortium(opening(), by=coordinator)
    db.session.commit()

    assert can_manage_consortium(coordinator, consortium)


def test_a_director_may_not_open_a_consortium() -> None:
    demo = make_consortium()
    director = make_member(demo, Role.DIRECTOR, "plie-sevran")

    with pytest.raises(NotAllowed):
        open_consortium(opening(), by=director)
    assert db.session.scalar(select(func.count()).select_from(Consortium)) == 1


def test_the_new_consortium_exports_as_a_valid_exchange_document(admin: User) -> None:
    consortium = open_consortium(opening(), by=admin)
    db.session.commit()

    data = document_to_dict(export_document(consortium))
    document = parse_document(json.loads(json.dumps(data)))

    assert document.budget_model.years == (2035, 2036, 2037, 2038)
    assert len(document.sections) == 16
    assert document.call.rules.main_funder_share_range == (Decimal("0.60"), Decimal("0.80"))


@pytest.mark.parametrize(
    ("rule", "rate", "base"),
    [
        (IndirectRule.STAFF_15, Decimal("0.15"), ["personnel"]),
        (IndirectRule.DIRECT_20, Decimal("0.20"), ["personnel", "fonctionnement", "participants"]),
        (IndirectRule.STAFF_40, Decimal("0.40"), ["personnel"]),
    ],
)
def test_flat_rate_rules_compute_the_indirect_category(
    admin: User, rule: IndirectRule, rate: Decimal, base: list[str]
) -> None:
    consortium = open_consortium(opening(indirect_rule=rule), by=admin)

    assert consortium.indirect_rate == rate
    assert consortium.indirect_base == base
    assert current_indirect_rule(consortium) == rule


def test_actual_costs_rule_makes_indirect_costs_a_typed_line(admin: User) -> None:
    consortium = open_consortium(opening(indirect_rule=IndirectRule.ACTUAL), by=admin)

    assert consortium.indirect_category is None
    assert consortium.indirect_rate is None
    indirects = db.session.scalar(
        select(ExpenseCategory).where(
            ExpenseCategory.consortium_id == consortium.id, ExpenseCategory.code == "indirects"
        )
    )
    assert indirects is not None
    assert not indirects.computed
    assert indirects.label == "Coûts indirects (frais réels)"
    parse_document(json.loads(json.dumps(document_to_dict(export_document(consortium)))))


def test_years_cover_every_calendar_year_the_period_touches(admin: User) -> None:
    consortium = open_consortium(
        opening(project_start=date(2035, 12, 31), project_end=date(2036, 1, 1)), by=admin
    )
    assert consortium.years == [2035, 2036]


def test_picking_a_known_call_copies_its_rules_into_a_call_of_its_own() -> None:
    demo = make_consortium()
    coordinator = make_member(demo, Role.COORDINATOR, "urtie-idf")
    known = opening_services.known_calls(coordinator)
    assert [call.id for call in known] == [demo.call_id]

    consortium = open_consortium(
        opening(new_call=None, call_id=demo.call_id, submission_deadline=date(2035, 6, 30)), by=coordinator
    )
    db.session.commit()

    assert consortium.call_id != demo.call_id
    assert consortium.call.submission_deadline == date(2035, 6, 30)
    assert consortium.call.name == demo.call.name
    assert consortium.call.min_total_cost == Decimal("1000000.00")
    assert consortium.call.main_funder == "pic_etat"
    consortium.call.min_total_cost = Decimal(5)
    db.session.commit()
    db.session.refresh(demo)
    assert demo.call.min_total_cost == Decimal("1000000.00")


def test_a_call_of_a_consortium_one_cannot_see_cannot_be_picked(admin: User) -> None:
    demo = make_consortium()
    other = make_consortium(slug="autre")
    coordinator = make_member(demo, Role.COORDINATOR, "urtie-idf")
    calls_before = db.session.scalar(select(func.count()).select_from(Call))
    assert other.call_id not in {call.id for call in opening_services.known_calls(coordinator)}

    with pytest.raises(InvalidFields) as raised:
        open_consortium(opening(new_call=None, call_id=other.call_id), by=coordinator)

    assert errors_of(raised) == {"call_choice": ["Choisissez un appel dans la liste."]}
    assert db.session.scalar(select(func.count()).select_from(Call)) == calls_before


def test_an_existing_lead_organisation_is_reused_not_duplicated() -> None:
    demo = make_consortium()
    coordinator = make_member(demo, Role.COORDINATOR, "urtie-idf")
    urtie = demo.lead_partner
    assert urtie is not None
    organisations = db.session.scalar(select(func.count()).select_from(Organisation))

    picked = open_consortium(
        opening(slug="un", new_organisation=None, organisation_id=urtie.organisation_id), by=coordinator
    )
    typed = open_consortium(
        opening(
            slug="deux",
            new_organisation=OrganisationInput(
                name="  urtie   ÎLE-DE-FRANCE ", departement=urtie.organisation.departement
            ),
        ),
        by=coordinator,
    )

    assert picked.lead_partner is not None
    assert typed.lead_partner is not None
    assert picked.lead_partner.organisation_id == urtie.organisation_id
    assert typed.lead_partner.organisation_id == urtie.organisation_id
    assert typed.lead_partner.name == urtie.name  # the known profile carries over
    assert db.session.scalar(select(func.count()).select_from(Organisation)) == organisations


def test_same_siret_reuses_the_organisation_and_completes_what_it_lacks(admin: User) -> None:
    first = open_consortium(opening(slug="un"), by=admin)
    assert first.lead_partner is not None
    organisation = first.lead_partner.organisation
    organisation.territory = ""
    second = open_consortium(
        opening(
            slug="deux",
            new_organisation=OrganisationInput(
                name="Autre nom", departement="75", siret="732 829 320 00074", territory="Paris"
            ),
        ),
        by=admin,
    )
    assert second.lead_partner is not None
    assert second.lead_partner.organisation_id == organisation.id
    assert organisation.name == "PLIE du Val-de-Marne"
    assert organisation.territory == "Paris"


def test_an_organisation_of_an_unseen_consortium_cannot_be_picked() -> None:
    demo = make_consortium()
    other = make_consortium(slug="autre")
    coordinator = make_member(demo, Role.COORDINATOR, "urtie-idf")
    assert other.lead_partner is not None
    # Both consortia share the demo's organisations: use one only the other consortium has.
    lonely = Organisation(departement="13")
    lonely.rename("Organisation lointaine")
    db.session.add(lonely)
    db.session.flush()
    other.partners[1].organisation = lonely
    db.session.commit()

    with pytest.raises(InvalidFields) as raised:
        open_consortium(opening(new_organisation=None, organisation_id=lonely.id), by=coordinator)

    assert errors_of(raised) == {"organisation_choice": ["Choisissez une organisation dans la liste."]}


def test_bad_siret_is_refused_and_nothing_is_created(admin: User) -> None:
    with pytest.raises(InvalidFields) as raised:
        open_consortium(
            opening(
                new_organisation=OrganisationInput(name="PLIE", departement="93", siret="73282932000075")
            ),
            by=admin,
        )
    assert "SIRET n'est pas valide" in errors_of(raised)["organisation_siret"][0]
    assert db.session.scalar(select(func.count()).select_from(Consortium)) == 0
    assert db.session.scalar(select(func.count()).select_from(Organisation)) == 0


def test_end_before_start_is_refused(admin: User) -> None:
    with pytest.raises(InvalidFields) as raised:
        open_consortium(opening(project_start=date(2036, 1, 1), project_end=date(2035, 12, 31)), by=admin)
    assert errors_of(raised) == {"project_end": ["La fin du projet doit être postérieure à son début."]}


def test_a_period_outside_the_call_bounds_is_allowed_and_shows_as_an_error(admin: User) -> None:
    from app.budget.services import consolidation_of

    consortium = open_consortium(
        opening(project_start=date(2035, 9, 1), project_end=date(2036, 2, 28)), by=admin
    )
    db.session.commit()

    codes = [finding.code for finding in consolidation_of(consortium).consolidation.errors]
    assert "duration_out_of_bounds" in codes


def test_a_decade_long_period_is_taken_for_a_typing_mistake(admin: User) -> None:
    with pytest.raises(InvalidFields) as raised:
        open_consortium(opening(project_end=date(2205, 1, 1)), by=admin)
    assert "plus de 10 années civiles" in errors_of(raised)["project_end"][0]


def test_a_slug_in_use_is_refused_with_a_free_suggestion(admin: User) -> None:
    open_consortium(opening(), by=admin)

    with pytest.raises(InvalidFields) as raised:
        open_consortium(opening(), by=admin)

    assert errors_of(raised)["slug"] == ["Cette adresse est déjà prise. Proposition : passerelles-94-2"]


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("nouveau", "Cette adresse est déjà prise"),
        ("cap emploi", "Lettres minuscules sans accent"),
        ("cap_emploi", "Lettres minuscules sans accent"),
        ("-cap", "Lettres minuscules sans accent"),
        ("réseau", "Lettres minuscules sans accent"),
        ("a" * 65, "64 caractères au plus"),
    ],
)
def test_bad_slugs_are_refused(admin: User, slug: str, message: str) -> None:
    with pytest.raises(InvalidFields) as raised:
        open_consortium(opening(slug=slug), by=admin)
    assert message in errors_of(raised)["slug"][0]


def test_a_slug_typed_in_capitals_is_lowered(admin: User) -> None:
    assert open_consortium(opening(slug="Cap-Emploi"), by=admin).slug == "cap-emploi"


def test_an_empty_slug_is_made_from_the_title(admin: User) -> None:
    first = open_consortium(opening(slug="", title="Œuvrer ensemble à Créteil"), by=admin)
    second = open_consortium(opening(slug="", title="Œuvrer ensemble à Créteil"), by=admin)
    assert first.slug == "oeuvrer-ensemble-a-creteil"
    assert second.slug == "oeuvrer-ensemble-a-creteil-2"


def test_slug_from_keeps_ascii_words_only() -> None:
    assert slug_from("URTIE Île-de-France") == "urtie-ile-de-france"
    assert slug_from('"><script>alert(1)</script>') == "script-alert-1-script"
    assert slug_from("🚀 {{7*7}}") == "7-7"
    assert slug_from("🚀") == ""
    assert slug_from("Frais de déplacement", separator="_") == "frais_de_deplacement"


def test_markup_and_emoji_in_the_organisation_name_are_kept_as_typed(admin: User) -> None:
    name = '"><script>alert(1)</script> {{7*7}} 🚀'
    consortium = open_consortium(
        opening(new_organisation=OrganisationInput(name=name, departement="93")), by=admin
    )
    assert consortium.lead_partner is not None
    assert consortium.lead_partner.name == name
    assert consortium.lead_partner.code == "script-alert-1-script-7-7"


def test_an_emoji_only_organisation_name_gives_a_default_partner_code(admin: User) -> None:
    consortium = open_consortium(
        opening(new_organisation=OrganisationInput(name="🚀", departement="93")), by=admin
    )
    assert consortium.lead_partner is not None
    assert consortium.lead_partner.code == "chef-de-file"


def test_over_long_title_is_refused_before_the_database(admin: User) -> None:
    with pytest.raises(InvalidFields) as raised:
        open_consortium(opening(title="x" * 301), by=admin)
    assert errors_of(raised)["title"] == ["300 caractères au plus (vous en avez saisi 301)."]


def test_rules_of_a_new_call_are_checked_all_at_once(admin: User) -> None:
    rules = CallRulesInput(
        min_duration_months=36,
        max_duration_months=24,
        main_funder="inconnu",
        main_funder_share_min=Decimal("0.80"),
        main_funder_share_max=Decimal("0.60"),
        min_local_cofunding_share=Decimal("1.5"),
    )
    with pytest.raises(InvalidFields) as raised:
        open_consortium(opening(new_call=CallInput("", None, rules)), by=admin)

    assert errors_of(raised) == {
        "call_name": ["Ce champ est obligatoire."],
        "max_duration_months": ["La durée maximale doit être au moins égale à la durée minimale."],
        "main_funder_share_max": ["La part maximale doit être au moins égale à la part minimale."],
        "min_local_cofunding_share": ["Saisissez un pourcentage entre 0 et 100."],
        "main_funder": ["Choisissez un financeur de la liste."],
    }


def test_a_share_range_needs_both_bounds(admin: User) -> None:
    rules = CallRulesInput(main_funder_share_min=Decimal("0.60"))
    with pytest.raises(InvalidFields) as raised:
        open_consortium(opening(new_call=CallInput("Appel", None, rules)), by=admin)
    assert errors_of(raised) == {
        "main_funder_share_max": ["Indiquez les deux bornes de la part du financeur principal, ou aucune."]
    }


def test_known_organisations_are_those_of_visible_consortia() -> None:
    demo = make_consortium()
    director = make_member(demo, Role.DIRECTOR, "plie-sevran")
    stranger = make_user("inconnu@exemple.fr")

    assert len(opening_services.known_organisations(director)) == len(demo.partners)
    assert opening_services.known_organisations(stranger) == []
    assert opening_services.known_calls(stranger) == []


def test_a_slug_taken_meanwhile_is_reported_not_crashed(admin: User, monkeypatch: pytest.MonkeyPatch) -> None:
    open_consortium(opening(), by=admin)
    db.session.commit()
    # As if another person had opened "passerelles-94" between the check and the insert.
    monkeypatch.setattr(opening_services, "slug_is_free", lambda slug: True)

    with pytest.raises(InvalidFields) as raised:
        open_consortium(opening(new_organisation=OrganisationInput(name="Autre", departement="75")), by=admin)

    assert errors_of(raised) == {"slug": ["Cette adresse vient d'être prise : choisissez-en une autre."]}
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Consortium)) == 1
