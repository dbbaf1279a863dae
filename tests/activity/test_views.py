"""The activity page (/consortia/<slug>/activite): who may open it, what it shows, that it is read-only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.audit import AuditEvent, record_event
from app.auth.models import User
from app.consortia.models import Consortium, Role
from app.consortia.services import partner_by_code
from app.extensions import db
from tests.factories import login, make_consortium, make_member, make_user

PAGE = "/consortia/cap-remob-idf/activite"


@pytest.fixture
def demo() -> Consortium:
    consortium = make_consortium()
    for row in db.session.scalars(select(AuditEvent)):
        db.session.delete(row)
    db.session.commit()
    return consortium


def add(
    demo: Consortium, kind: str, by: User, at: datetime, partner: str | None = None, **data: object
) -> None:
    found = partner_by_code(demo, partner) if partner else None
    record_event(kind, actor_id=by.id, consortium_id=demo.id, partner_id=found.id if found else None, **data)
    db.session.flush()
    row = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert row is not None
    row.at = at
    db.session.commit()


def test_coordinator_sees_the_feed_in_french_in_paris_time(client: FlaskClient, demo: Consortium) -> None:
    coordinator = make_member(demo, Role.COORDINATOR, "urtie-idf", email="coord@exemple.fr")
    add(
        demo,
        "budget.amount_changed",
        coordinator,
        datetime(2026, 3, 14, 23, 30, tzinfo=UTC),
        "plie-sevran",
        side="expense",
        code="personnel",
        year=2026,
        old={"amount": "1000.00"},
        new={"amount": "1234.50"},
    )
    login(client, coordinator.email)

    response = client.get(PAGE)

    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Journal d'activité" in html
    assert "Montant du budget modifié" in html
    assert "15 mars 2026 à 00:30" in html  # 23:30 UTC, shown in Paris time
    assert "1\u202f000,00\u00a0€" in html
    assert "1\u202f234,50\u00a0€" in html
    assert "PLIE de Sevran" in html
    assert 'href="/consortia/cap-remob-idf/membres/plie-sevran/budget"' in html
    assert 'name="membre"' in html  # the coordinator may filter by partner


def test_the_activity_tab_is_in_the_consortium_header(client: FlaskClient, demo: Consortium) -> None:
    coordinator = make_member(demo, Role.COORDINATOR, "urtie-idf", email="coord@exemple.fr")
    login(client, coordinator.email)
    assert f'href="{PAGE}"' in client.get("/consortia/cap-remob-idf/membres").get_data(as_text=True)


def test_filters_in_the_address_narrow_the_feed(client: FlaskClient, demo: Consortium) -> None:
    coordinator = make_member(demo, Role.COORDINATOR, "urtie-idf", email="coord@exemple.fr")
    at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    add(demo, "budget.signed_off", coordinator, at, "plie-sevran")
    add(demo, "partner.withdrawn", coordinator, at, "mde-aulnay", reason="Fusion")
    login(client, coordinator.email)

    html = client.get(PAGE + "?membre=mde-aulnay&type=membres").get_data(as_text=True)

    assert "Membre retiré du consortium" in html
    assert "Engagements signés" not in html
    assert "1 action correspondant aux filtres" in html


def test_a_bad_date_is_explained_and_the_feed_still_shows(client: FlaskClient, demo: Consortium) -> None:
    coordinator = make_member(demo, Role.COORDINATOR, "urtie-idf", email="coord@exemple.fr")
    add(demo, "budget.signed_off", coordinator, datetime(2026, 3, 2, 9, tzinfo=UTC), "plie-sevran")
    login(client, coordinator.email)

    response = client.get(PAGE + "?du=31/02/2026&page=abc")

    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "La date de début n&#39;est pas une date valide (jj/mm/aaaa)" in html
    assert "Engagements signés" in html


def test_a_partner_director_sees_only_its_partner(client: FlaskClient, demo: Consortium) -> None:
    coordinator = make_member(demo, Role.COORDINATOR, "urtie-idf", email="coord@exemple.fr")
    director = make_member(demo, Role.DIRECTOR, "plie-sevran", email="dir@exemple.fr")
    at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    add(demo, "budget.signed_off", director, at, "plie-sevran")
    add(demo, "partner.withdrawn", coordinator, at, "mde-aulnay", reason="Fusion")
    add(demo, "consortium.settings_changed", coordinator, at)
    login(client, director.email)

    html = client.get(PAGE + "?membre=mde-aulnay").get_data(as_text=True)

    assert "Journal d'activité de <bdi>PLIE de Sevran</bdi>" in html
    assert "Engagements signés" in html
    assert "Membre retiré" not in html
    assert "Paramètres du consortium" not in html
    assert 'name="membre"' not in html


def test_a_reader_is_refused(client: FlaskClient, demo: Consortium) -> None:
    reader = make_member(demo, Role.READER, email="lecture@exemple.fr")
    login(client, reader.email)
    response = client.get(PAGE)
    assert response.status_code == 403
    assert "réservé à la coordination" in response.get_data(as_text=True)


def test_someone_outside_the_consortium_gets_not_found(client: FlaskClient, demo: Consortium) -> None:
    login(client, make_user("dehors@exemple.fr").email)
    assert client.get(PAGE).status_code == 404


def test_another_consortiums_coordinator_gets_not_found(client: FlaskClient, demo: Consortium) -> None:
    other = make_consortium(slug="autre")
    login(client, make_member(other, Role.COORDINATOR, "urtie-idf", email="autre@exemple.fr").email)
    assert client.get(PAGE).status_code == 404


def test_no_route_of_the_activity_log_changes_anything(app: Flask) -> None:
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint.startswith("activity.")]
    assert rules, "the activity feed is installed"
    for rule in rules:
        assert not (rule.methods or set()) & {"POST", "PUT", "PATCH", "DELETE"}, rule


def test_posting_to_the_feed_is_not_allowed(client: FlaskClient, demo: Consortium) -> None:
    coordinator = make_member(demo, Role.COORDINATOR, "urtie-idf", email="coord@exemple.fr")
    login(client, coordinator.email)
    token = client.get(PAGE).get_data(as_text=True).split('name="csrf-token" content="')[1].split('"')[0]
    assert client.post(PAGE, data={"csrf_token": token}).status_code == 405


def test_a_new_event_shows_at_once_and_each_scope_keeps_its_own_feed(
    client: FlaskClient, demo: Consortium
) -> None:
    coordinator = make_member(demo, Role.COORDINATOR, "urtie-idf", email="coord@exemple.fr")
    director = make_member(demo, Role.DIRECTOR, "plie-sevran", email="direction@sevran.fr")
    add(demo, "consortium.settings_changed", coordinator, datetime(2026, 3, 1, 9, 0, tzinfo=UTC))
    login(client, coordinator.email)
    assert "Montant du budget modifié" not in client.get(PAGE).get_data(as_text=True)

    # Events change nothing the dossier shows: the feed still sees the new one.
    add(
        demo,
        "budget.amount_changed",
        coordinator,
        datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
        "plie-sevran",
        side="expense",
        code="personnel",
        year=2026,
        old={"amount": "1000.00"},
        new={"amount": "1500.00"},
    )
    assert "Montant du budget modifié" in client.get(PAGE).get_data(as_text=True)

    other = client.application.test_client()  # type: ignore[attr-defined]
    login(other, director.email)
    mine = other.get(PAGE).get_data(as_text=True)
    assert "Montant du budget modifié" in mine
    assert 'name="membre"' not in mine  # not the coordination's feed, kept a moment ago
    assert "Paramètres du consortium modifiés" not in mine  # an event of no partner
