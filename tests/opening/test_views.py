"""The opening wizard (/consortia/nouveau) and the settings page (/consortia/<slug>/parametres)."""

from __future__ import annotations

import html
import re
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select
from werkzeug.test import TestResponse

from app.audit import AuditEvent
from app.budget import lines
from app.budget.models import AmountKind, BudgetAmount, ExpenseCategory, Funder, FunderGroup
from app.consortia.models import Consortium, Organisation, Role
from app.extensions import db
from app.opening import services as opening_services
from tests.factories import csrf_token, login, make_consortium, make_member, make_user


def text_of(response: TestResponse) -> str:
    """What a reader sees: tags dropped, entities decoded, spaces folded."""
    source = response.get_data(as_text=True)
    source = re.sub(r"<(script|style|title)\b.*?</\1>", " ", source, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", source)).split())


def field_errors(response: TestResponse, field: str) -> str:
    """The message shown under a field."""
    match = re.search(rf'id="{re.escape(field)}-erreur">(.*?)</div>', response.get_data(as_text=True), re.S)
    return html.unescape(match.group(1)) if match else ""


def count(model: Any) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model)) or 0)


@pytest.fixture
def demo() -> Consortium:
    return make_consortium()


@pytest.fixture
def coordinator(demo: Consortium, client: FlaskClient) -> str:
    """The demo's coordinator, logged in."""
    user = make_member(demo, Role.COORDINATOR, "urtie-idf", email="coordination@exemple.fr")
    login(client, user.email)
    return user.email


def wizard(client: FlaskClient, **changes: str) -> dict[str, str]:
    """A complete wizard submission describing a new call and a new lead organisation."""
    data = {
        "csrf_token": csrf_token(client, "/consortia/nouveau"),
        "call_choice": "nouveau",
        "call_name": "Appel régional emploi",
        "submission_deadline": "2035-06-30",
        "min_total_cost": "1 000 000",
        "min_duration_months": "24",
        "max_duration_months": "36",
        "main_funder": "pic_etat",
        "main_funder_share_min": "60 %",
        "main_funder_share_max": "80",
        "min_local_cofunding_share": "20,5",
        "balance_tolerance": "0,00",
        "title": "Passerelles Emploi Val-de-Marne",
        "acronym": "PASSERELLES",
        "slug": "passerelles-94",
        "project_start": "2035-09-01",
        "project_end": "2038-08-31",
        "organisation_choice": "nouveau",
        "organisation_name": "PLIE du Val-de-Marne",
        "organisation_kind": "PLIE",
        "organisation_departement": "94",
        "organisation_territory": "Créteil",
        "organisation_siret": "732 829 320 00074",
        "organisation_address": "1 rue de l'Exemple",
        "indirect_rule": "personnel-15",
    }
    data.update(changes)
    return data


# --- Who may open ----------------------------------------------------------------------------------


def test_coordinator_sees_the_new_consortium_button_on_her_consortia(
    client: FlaskClient, coordinator: str
) -> None:
    page = client.get("/")
    assert 'href="/consortia/nouveau"' in page.get_data(as_text=True)
    assert "Nouveau consortium" in text_of(page)


def test_director_sees_no_button_and_is_refused_the_wizard(client: FlaskClient, demo: Consortium) -> None:
    director = make_member(demo, Role.DIRECTOR, "plie-sevran")
    login(client, director.email)

    assert "Nouveau consortium" not in text_of(client.get("/"))
    refused = client.get("/consortia/nouveau")
    assert refused.status_code == 403
    assert "Accès refusé" in text_of(refused)


def test_anonymous_visitor_is_sent_to_the_login_page(client: FlaskClient) -> None:
    response = client.get("/consortia/nouveau")
    assert response.status_code == 302
    assert "/connexion" in response.headers["Location"]


def test_director_posting_the_wizard_creates_nothing(client: FlaskClient, demo: Consortium) -> None:
    director = make_member(demo, Role.DIRECTOR, "plie-sevran")
    login(client, director.email)

    response = client.post("/consortia/nouveau", data=wizard(client, csrf_token=csrf_token(client, "/")))

    assert response.status_code == 403
    assert count(Consortium) == 1


# --- The wizard ------------------------------------------------------------------------------------


def test_wizard_offers_the_known_call_and_her_own_organisation_first(
    client: FlaskClient, coordinator: str, demo: Consortium
) -> None:
    page = client.get("/consortia/nouveau")
    source = page.get_data(as_text=True)

    assert page.status_code == 200
    assert re.search(rf'<option selected value="{demo.call_id}">100 % inclusion', source)
    assert demo.lead_partner is not None
    assert re.search(rf'<option selected value="{demo.lead_partner.organisation_id}">URTIE', source)
    assert "Forfait de 20 % des dépenses directes hors prestations externes" in text_of(page)


def test_opening_with_the_wizard_lands_on_the_overview_with_the_lead_partner(
    client: FlaskClient, coordinator: str
) -> None:
    response = client.post("/consortia/nouveau", data=wizard(client))

    assert response.status_code == 303
    assert response.headers["Location"].endswith("/consortia/passerelles-94")
    overview = client.get("/consortia/passerelles-94")
    page = text_of(overview)
    assert "Le consortium « Passerelles Emploi Val-de-Marne » est ouvert" in page
    assert 'data-partner="plie-du-val-de-marne"' in overview.get_data(as_text=True)
    assert "PLIE du Val-de-Marne Chef de file" in page
    consortium = db.session.scalar(select(Consortium).where(Consortium.slug == "passerelles-94"))
    assert consortium is not None
    assert consortium.call.main_funder_share_min == Decimal("0.60")
    assert consortium.call.min_local_cofunding_share == Decimal("0.205")
    assert consortium.call.min_total_cost == Decimal("1000000.00")
    assert consortium.lead_partner is not None
    assert consortium.lead_partner.organisation.siret == "73282932000074"


def test_opening_with_a_known_call_and_organisation(
    client: FlaskClient, coordinator: str, demo: Consortium
) -> None:
    assert demo.lead_partner is not None
    data = wizard(
        client,
        call_choice=str(demo.call_id),
        call_name="",
        min_total_cost="n'importe quoi",  # hidden new-call fields are ignored
        organisation_choice=str(demo.lead_partner.organisation_id),
        organisation_name="",
    )
    organisations = count(Organisation)

    response = client.post("/consortia/nouveau", data=data)

    assert response.status_code == 303
    assert count(Organisation) == organisations
    consortium = db.session.scalar(select(Consortium).where(Consortium.slug == "passerelles-94"))
    assert consortium is not None
    assert consortium.call.name == demo.call.name
    # The known call's rules are copied; its deadline is the one typed for this dossier.
    assert consortium.call.submission_deadline == date(2035, 6, 30)
    assert demo.call.submission_deadline == date(2019, 9, 3)
    assert consortium.lead_partner is not None
    assert consortium.lead_partner.name == "URTIE Île-de-France"


def test_every_mistake_is_shown_at_once_and_what_was_typed_is_kept(
    client: FlaskClient, coordinator: str
) -> None:
    data = wizard(
        client,
        project_start="2036-01-01",
        project_end="2035-01-01",
        organisation_siret="73282932000075",
        organisation_departement="",
        main_funder_share_min="80",
        main_funder_share_max="60",
        min_local_cofunding_share="0,60",
        min_total_cost="1.000.000",
    )

    response = client.post("/consortia/nouveau", data=data)

    assert response.status_code == 422
    assert "Le consortium n'est pas encore ouvert" in text_of(response)
    assert field_errors(response, "project_end") == "La fin du projet doit être postérieure à son début."
    assert "SIRET n'est pas valide" in field_errors(response, "organisation_siret")
    assert "départements" in field_errors(response, "organisation_departement")
    assert field_errors(response, "main_funder_share_max") == (
        "La part maximale doit être au moins égale à la part minimale."
    )
    assert "60 pour 60 %" in field_errors(response, "min_local_cofunding_share")
    assert "milliers se séparent par une espace" in field_errors(response, "min_total_cost")
    source = response.get_data(as_text=True)
    assert 'value="73282932000075"' in source
    assert 'value="1.000.000"' in source
    assert 'value="0,60"' in source
    assert 'value="Passerelles Emploi Val-de-Marne"' in source
    assert count(Consortium) == 1


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("main_funder_share_max", "150", "Un pourcentage ne dépasse pas 100."),
        ("main_funder_share_max", "-5", "Saisissez un pourcentage entre 0 et 100"),
        ("min_total_cost", "-500", "montants négatifs ne sont pas autorisés"),
        ("min_total_cost", "1e309", "Montant invalide"),
        ("min_total_cost", "NaN", "Montant invalide"),
        ("min_total_cost", "1,500", "Montant ambigu"),
        ("balance_tolerance", "123456789012345", "Montant trop élevé"),
        ("min_duration_months", "٢٤", "chiffres 0 à 9"),
        ("min_duration_months", "2_4", "chiffres 0 à 9"),
        ("title", "x" * 301, "300 caractères"),
        ("slug", "Cap Emploi!", "Lettres minuscules sans accent"),
        ("slug", "nouveau", "Cette adresse est déjà prise"),
        ("project_start", "31/02/2035", "date"),
    ],
)
def test_bad_inputs_get_a_french_message_next_to_the_field(
    client: FlaskClient, coordinator: str, field: str, typed: str, message: str
) -> None:
    response = client.post("/consortia/nouveau", data=wizard(client, **{field: typed}))

    assert response.status_code == 422
    assert message in field_errors(response, field)
    assert count(Consortium) == 1


def test_duplicate_slug_is_refused_with_a_suggestion(client: FlaskClient, coordinator: str) -> None:
    response = client.post("/consortia/nouveau", data=wizard(client, slug="cap-remob-idf"))

    assert response.status_code == 422
    assert field_errors(response, "slug") == "Cette adresse est déjà prise. Proposition : cap-remob-idf-2"


def test_markup_and_emoji_in_the_organisation_name_show_literally(
    client: FlaskClient, coordinator: str
) -> None:
    name = '"><script>alert(1)</script> {{7*7}} 🚀'
    response = client.post(
        "/consortia/nouveau", data=wizard(client, organisation_name=name, title="Projet {{7*7}}")
    )
    assert response.status_code == 303

    overview = client.get(response.headers["Location"])
    source = overview.get_data(as_text=True)
    assert "<script>alert(1)</script>" not in source
    assert "&lt;script&gt;alert(1)&lt;/script&gt; {{7*7}} 🚀" in source
    assert "Projet {{7*7}}" in text_of(overview)
    assert "49" not in text_of(overview).split("Projet")[1][:10]


def test_a_nul_byte_is_refused_and_nothing_is_created(client: FlaskClient, coordinator: str) -> None:
    response = client.post("/consortia/nouveau", data=wizard(client, organisation_name="PLIE\x00"))

    assert response.status_code == 400
    assert "caractère nul" in text_of(response)
    assert count(Consortium) == 1


def test_an_expired_form_keeps_what_was_typed(client: FlaskClient, coordinator: str) -> None:
    response = client.post("/consortia/nouveau", data=wizard(client, csrf_token="périmé"))

    assert response.status_code == 400
    assert "Vos saisies sont conservées" in text_of(response)
    assert 'value="Passerelles Emploi Val-de-Marne"' in response.get_data(as_text=True)
    assert count(Consortium) == 1


def test_extra_fields_are_ignored(client: FlaskClient, coordinator: str) -> None:
    response = client.post(
        "/consortia/nouveau", data=wizard(client, consortium_id="1", role="reader", status="submitted")
    )

    assert response.status_code == 303
    consortium = db.session.scalar(select(Consortium).where(Consortium.slug == "passerelles-94"))
    assert consortium is not None
    assert consortium.status.value == "draft"


# --- The settings page -----------------------------------------------------------------------------


def settings_data(client: FlaskClient, slug: str, **changes: str) -> dict[str, str]:
    """The settings form as the page fills it for the demo, with `changes`."""
    data = {
        "csrf_token": csrf_token(client, f"/consortia/{slug}/parametres"),
        "title": "Cap Remobilisation Île-de-France",
        "acronym": "CAP-REMOB",
        "project_start": "2019-09-01",
        "project_end": "2022-08-31",
        "call_name": "100 % inclusion – la fabrique de la remobilisation",
        "submission_deadline": "2019-09-03",
        "min_total_cost": "1 000 000,00",
        "min_duration_months": "24",
        "max_duration_months": "36",
        "main_funder": "pic_etat",
        "main_funder_share_min": "60",
        "main_funder_share_max": "80",
        "min_local_cofunding_share": "20",
        "balance_tolerance": "0,00",
        "indirect_rule": "personnel-15",
    }
    data.update(changes)
    return data


def test_settings_page_shows_the_current_values_and_the_guard(
    client: FlaskClient, coordinator: str, demo: Consortium
) -> None:
    page = client.get("/consortia/cap-remob-idf/parametres")
    source = page.get_data(as_text=True)

    assert page.status_code == 200
    assert 'value="60"' in source  # 0.60 shown as a percentage
    assert 'value="1\u202f000\u202f000,00"' in source
    assert re.search(r'checked[^>]*value="personnel-15"|value="personnel-15"[^>]*checked', source)
    text = text_of(page)
    assert "Des montants sont déjà saisis" in text
    assert "membres ont signé leurs chiffres" in text
    assert 'value="Coûts indirects (forfait)"' in source
    assert "calculée" in text


def test_settings_are_for_the_coordination_only(client: FlaskClient, demo: Consortium) -> None:
    director = make_member(demo, Role.DIRECTOR, "plie-sevran")
    login(client, director.email)

    assert client.get("/consortia/cap-remob-idf/parametres").status_code == 403
    token = csrf_token(client, "/")
    response = client.post(
        "/consortia/cap-remob-idf/parametres/categories",
        data={"cat-new-csrf_token": token, "cat-new-label": "X"},
    )
    assert response.status_code == 403
    assert count(ExpenseCategory) == 5


def test_a_coordinator_of_another_consortium_gets_not_found(client: FlaskClient, demo: Consortium) -> None:
    make_consortium(slug="autre")
    other = make_member(
        db.session.scalar(select(Consortium).where(Consortium.slug == "autre")),  # type: ignore[arg-type]
        Role.COORDINATOR,
        "urtie-idf",
    )
    login(client, other.email)

    assert client.get("/consortia/cap-remob-idf/parametres").status_code == 404


def test_saving_settings_changes_them_and_says_so(
    client: FlaskClient, coordinator: str, demo: Consortium
) -> None:
    data = settings_data(client, "cap-remob-idf", title="Cap Remob IDF", main_funder_share_min="62,5")

    response = client.post("/consortia/cap-remob-idf/parametres", data=data)

    assert response.status_code == 303
    assert "Paramètres enregistrés." in text_of(client.get(response.headers["Location"]))
    db.session.refresh(demo)
    db.session.refresh(demo.call)
    assert demo.title == "Cap Remob IDF"
    assert demo.call.main_funder_share_min == Decimal("0.625")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.kind == "consortium.settings_changed"))
    assert event is not None
    assert event.data["changes"]["call.main_funder_share_min"] == {"old": "0.60", "new": "0.625"}


def test_shortening_a_period_that_holds_amounts_is_refused_with_an_explanation(
    client: FlaskClient, coordinator: str, demo: Consortium
) -> None:
    response = client.post(
        "/consortia/cap-remob-idf/parametres",
        data=settings_data(client, "cap-remob-idf", project_end="2021-12-31"),
    )

    assert response.status_code == 422
    message = field_errors(response, "project_end")
    assert "l'année 2022 sortirait de la période" in message
    assert "montants saisis" in message
    assert 'value="2021-12-31"' in response.get_data(as_text=True)
    db.session.refresh(demo)
    assert demo.years == [2019, 2020, 2021, 2022]


def test_switching_to_actual_costs_on_the_demo_is_allowed(
    client: FlaskClient, coordinator: str, demo: Consortium
) -> None:
    response = client.post(
        "/consortia/cap-remob-idf/parametres",
        data=settings_data(client, "cap-remob-idf", indirect_rule="frais-reels"),
    )

    assert response.status_code == 303
    db.session.refresh(demo)
    assert demo.indirect_category is None


def test_category_lines_are_added_renamed_moved_and_removed(client: FlaskClient, coordinator: str) -> None:
    client.post("/consortia/nouveau", data=wizard(client))
    base = "/consortia/passerelles-94/parametres/categories"
    token = csrf_token(client, "/consortia/passerelles-94/parametres")

    added = client.post(base, data={"cat-new-csrf_token": token, "cat-new-label": "Investissements"})
    assert added.status_code == 303
    assert added.headers["Location"].endswith("/parametres#categories")
    assert "Catégorie « Investissements » ajoutée." in text_of(client.get(added.headers["Location"]))
    moved = client.post(
        f"{base}/investissements",
        data={"cat-investissements-csrf_token": token, "cat-investissements-op": "up"},
    )
    assert moved.headers["Location"].endswith("#cat-investissements-up")
    renamed = client.post(
        f"{base}/investissements",
        data={
            "cat-investissements-csrf_token": token,
            "cat-investissements-op": "save",
            "cat-investissements-label": "Matériel",
        },
    )
    assert renamed.status_code == 303
    removed = client.post(
        f"{base}/prestations", data={"cat-prestations-csrf_token": token, "cat-prestations-op": "remove"}
    )
    assert removed.status_code == 303

    consortium = db.session.scalar(select(Consortium).where(Consortium.slug == "passerelles-94"))
    assert consortium is not None
    assert [(c.code, c.label) for c in lines.categories_of(consortium)][3:] == [
        ("investissements", "Matériel"),
        ("indirects", "Coûts indirects (forfait)"),
    ]


def test_removing_a_category_holding_amounts_shows_why_and_keeps_it(
    client: FlaskClient, coordinator: str, demo: Consortium
) -> None:
    token = csrf_token(client, "/consortia/cap-remob-idf/parametres")
    response = client.post(
        "/consortia/cap-remob-idf/parametres/categories/prestations",
        data={
            "cat-prestations-csrf_token": token,
            "cat-prestations-op": "remove",
            "cat-prestations-label": "Prestations",
        },
    )

    assert response.status_code == 422
    text = text_of(response)
    assert "Impossible de retirer « Prestations de services externes »" in text
    assert "montants y sont saisis" in text
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(ExpenseCategory)
            .where(ExpenseCategory.consortium_id == demo.id, ExpenseCategory.code == "prestations")
        )
        == 1
    )


def test_an_empty_label_is_refused_and_the_row_keeps_what_was_typed(
    client: FlaskClient, coordinator: str, demo: Consortium
) -> None:
    token = csrf_token(client, "/consortia/cap-remob-idf/parametres")
    response = client.post(
        "/consortia/cap-remob-idf/parametres/financeurs/fse",
        data={
            "fin-fse-csrf_token": token,
            "fin-fse-op": "save",
            "fin-fse-label": "  ",
            "fin-fse-group": "ue",
        },
    )

    assert response.status_code == 422
    assert "Ce champ est obligatoire." in text_of(response)


def test_a_funder_changes_group_and_a_new_one_is_added(
    client: FlaskClient, coordinator: str, demo: Consortium
) -> None:
    base = "/consortia/cap-remob-idf/parametres/financeurs"
    token = csrf_token(client, "/consortia/cap-remob-idf/parametres")

    changed = client.post(
        f"{base}/autres_publics",
        data={
            "fin-autres_publics-csrf_token": token,
            "fin-autres_publics-op": "save",
            "fin-autres_publics-label": "Pôle emploi",
            "fin-autres_publics-group": "etat",
        },
    )
    added = client.post(
        base,
        data={"fin-new-csrf_token": token, "fin-new-label": "Fondation 🚀 <b>", "fin-new-group": "prives"},
    )

    assert changed.status_code == 303
    assert added.status_code == 303
    funder = db.session.scalar(
        select(Funder).where(Funder.consortium_id == demo.id, Funder.code == "autres_publics")
    )
    assert funder is not None
    assert (funder.label, funder.group) == ("Pôle emploi", FunderGroup.ETAT)
    page = client.get("/consortia/cap-remob-idf/parametres").get_data(as_text=True)
    assert 'value="Fondation 🚀 &lt;b&gt;"' in page


def test_an_unknown_line_is_not_found(client: FlaskClient, coordinator: str) -> None:
    token = csrf_token(client, "/consortia/cap-remob-idf/parametres")
    response = client.post(
        "/consortia/cap-remob-idf/parametres/categories/inconnue",
        data={"cat-inconnue-csrf_token": token, "cat-inconnue-op": "remove"},
    )
    assert response.status_code == 404


def test_a_line_posted_without_token_changes_nothing(
    client: FlaskClient, coordinator: str, demo: Consortium
) -> None:
    response = client.post(
        "/consortia/cap-remob-idf/parametres/categories", data={"cat-new-label": "Investissements"}
    )
    assert response.status_code == 400
    assert 'value="Investissements"' in response.get_data(as_text=True)
    assert count(ExpenseCategory) == 5


def test_the_model_guard_relaxes_nothing_for_other_kinds(client: FlaskClient, coordinator: str) -> None:
    client.post("/consortia/nouveau", data=wizard(client))
    consortium = db.session.scalar(select(Consortium).where(Consortium.slug == "passerelles-94"))
    assert consortium is not None
    assert "Aucun montant n'est encore saisi" in text_of(client.get("/consortia/passerelles-94/parametres"))
    assert consortium.lead_partner is not None
    db.session.add(
        BudgetAmount(
            partner=consortium.lead_partner,
            year=2036,
            kind=AmountKind.RESOURCE,
            code="fse",
            amount=Decimal(1),
        )
    )
    db.session.commit()
    assert "Des montants sont déjà saisis" in text_of(client.get("/consortia/passerelles-94/parametres"))


def test_admin_without_role_can_open_and_becomes_coordinator(client: FlaskClient) -> None:
    admin = make_user("admin@exemple.fr", admin=True)
    login(client, admin.email)

    response = client.post("/consortia/nouveau", data=wizard(client))

    assert response.status_code == 303
    consortium = db.session.scalar(select(Consortium).where(Consortium.slug == "passerelles-94"))
    assert consortium is not None
    assert opening_services.default_lead_organisation(admin) is not None


def test_a_known_call_whose_deadline_has_passed_asks_for_the_new_one(
    client: FlaskClient, coordinator: str, demo: Consortium
) -> None:
    assert demo.lead_partner is not None
    data = wizard(
        client,
        call_choice=str(demo.call_id),
        call_name="",
        submission_deadline="",
        organisation_choice=str(demo.lead_partner.organisation_id),
        organisation_name="",
    )
    consortia = count(Consortium)

    response = client.post("/consortia/nouveau", data=data)

    assert response.status_code == 422
    assert field_errors(response, "submission_deadline") == (
        "La date limite de dépôt (3 septembre 2019) est déjà passée : indiquez celle de l'appel auquel "
        "ce dossier répond."
    )
    assert count(Consortium) == consortia
    assert 'value="Passerelles Emploi Val-de-Marne"' in response.get_data(as_text=True)


def test_a_deadline_typed_in_the_past_or_after_the_start_is_refused_next_to_its_field(
    client: FlaskClient, coordinator: str
) -> None:
    consortia = count(Consortium)
    past = client.post("/consortia/nouveau", data=wizard(client, submission_deadline="2019-09-03"))
    late = client.post("/consortia/nouveau", data=wizard(client, submission_deadline="2035-10-01"))

    assert past.status_code == late.status_code == 422
    assert "est déjà passée" in field_errors(past, "submission_deadline")
    assert field_errors(late, "project_start") == (
        "Le projet commencerait le 1er septembre 2035, avant la date limite de dépôt (1er octobre 2035) : "
        "un projet commence après le dépôt de son dossier."
    )
    assert count(Consortium) == consortia
