"""Coordination pages: the board, milestones, reminders (preview, send, log) and the partner's own list."""

from __future__ import annotations

from datetime import timedelta

from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.consortia.models import Consortium, Role
from app.coordination.models import Milestone, Reminder
from app.coordination.owed import owed_of
from app.coordination.services import paris_today
from app.extensions import db
from app.mail.models import OutboxMessage
from tests.factories import csrf_token, login, make_consortium, make_member


def _consortium(partners: int = 4, slug: str | None = None) -> Consortium:
    consortium = make_consortium(partners, slug=slug)
    consortium.call.submission_deadline = paris_today() + timedelta(days=30)
    db.session.commit()
    return consortium


def _coordinator(client: FlaskClient, consortium: Consortium) -> str:
    user = make_member(consortium, Role.COORDINATOR, email=f"coord-{consortium.slug}@exemple.fr")
    login(client, user.email)
    return csrf_token(client, f"/consortia/{consortium.slug}/echeances")


def _count(model: type) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_board_shows_each_partner_and_what_it_owes(client: FlaskClient) -> None:
    consortium = _consortium(4)
    _coordinator(client, consortium)
    html = client.get(f"/consortia/{consortium.slug}/suivi").get_data(as_text=True)
    assert "Tableau de suivi" in html
    assert "J-30" in html
    for partner in consortium.partners:
        assert f'data-partner="{partner.code}"' in html
    assert "Signature valide" in html
    assert "Budget équilibré" in html
    # States are written, not only coloured.
    assert "À faire" in html
    assert "Fait" in html
    assert f"/consortia/{consortium.slug}/membres/{consortium.partners[0].code}/budget#signature" in html
    assert "Reste à faire" in html


def test_board_filters_by_departement_and_state(client: FlaskClient) -> None:
    consortium = _consortium(8)
    _coordinator(client, consortium)
    html = client.get(f"/consortia/{consortium.slug}/suivi?departement=91").get_data(as_text=True)
    shown = [p for p in consortium.partners if f'data-partner="{p.code}"' in html]
    assert shown
    assert all("91" in p.organisation.departement.split("/") for p in shown)
    assert len(shown) < len(consortium.partners)
    owed = owed_of(consortium)
    for state in ("void", "missing", "done"):
        expected = {row.code for row in owed.partners if any(item.state == state for item in row.items)}
        html = client.get(f"/consortia/{consortium.slug}/suivi?etat={state}").get_data(as_text=True)
        assert {p.code for p in consortium.partners if f'data-partner="{p.code}"' in html} == expected
        if not expected:
            assert "Aucun membre actif ne correspond" in html
    html = client.get(f"/consortia/{consortium.slug}/suivi?etat=n%27importe").get_data(as_text=True)
    assert all(f'data-partner="{p.code}"' in html for p in consortium.partners)


def test_board_is_for_the_coordination_only(client: FlaskClient) -> None:
    consortium = _consortium(2)
    director = make_member(consortium, Role.DIRECTOR, consortium.partners[1].code)
    login(client, director.email)
    assert client.get(f"/consortia/{consortium.slug}/suivi").status_code == 403
    assert client.get(f"/consortia/{consortium.slug}/echeances").status_code == 403
    assert client.get(f"/consortia/{consortium.slug}/relances").status_code == 403
    client.post("/deconnexion", data={"csrf_token": csrf_token(client, "/")})
    reader = make_member(consortium, Role.READER, email="lecteur@exemple.fr")
    login(client, reader.email)
    assert client.get(f"/consortia/{consortium.slug}/suivi").status_code == 403
    token = csrf_token(client, f"/consortia/{consortium.slug}")
    response = client.post(
        f"/consortia/{consortium.slug}/echeances",
        data={"csrf_token": token, "title": "X", "due_date": paris_today().isoformat(), "covers": ["budget"]},
    )
    assert response.status_code == 403
    assert (
        client.post(f"/consortia/{consortium.slug}/relances", data={"csrf_token": token}).status_code == 403
    )
    assert _count(Milestone) == 0
    assert _count(OutboxMessage) == 0
    other = _consortium(2, slug="autre")
    assert client.get(f"/consortia/{other.slug}/suivi").status_code == 404


def test_coordinator_adds_a_milestone_and_sees_what_it_lacks(client: FlaskClient) -> None:
    consortium = _consortium(3)
    token = _coordinator(client, consortium)
    due = paris_today() + timedelta(days=10)
    response = client.post(
        f"/consortia/{consortium.slug}/echeances",
        data={
            "csrf_token": token,
            "title": "Budgets signés",
            "due_date": due.isoformat(),
            "covers": ["sign_off", "budget"],
            "remind_days_before": "3",
        },
    )
    assert response.status_code == 303
    milestone = db.session.scalar(select(Milestone))
    assert milestone is not None
    assert milestone.covers == ["budget", "sign_off"]
    html = client.get(f"/consortia/{consortium.slug}/suivi").get_data(as_text=True)
    assert "Budgets signés" in html
    assert "J-10" in html
    assert "1 membre en retard" in html


def test_milestone_in_the_past_is_refused_and_what_was_typed_is_kept(client: FlaskClient) -> None:
    consortium = _consortium(2)
    token = _coordinator(client, consortium)
    response = client.post(
        f"/consortia/{consortium.slug}/echeances",
        data={
            "csrf_token": token,
            "title": "Textes des partenaires",
            "due_date": (paris_today() - timedelta(days=1)).isoformat(),
            "covers": ["partner_text"],
        },
    )
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "est déjà passée" in html
    assert 'value="Textes des partenaires"' in html
    assert _count(Milestone) == 0


def test_post_without_token_changes_nothing(client: FlaskClient) -> None:
    consortium = _consortium(2)
    _coordinator(client, consortium)
    response = client.post(
        f"/consortia/{consortium.slug}/echeances",
        data={"title": "X", "due_date": paris_today().isoformat(), "covers": ["budget"]},
    )
    assert response.status_code == 400
    assert _count(Milestone) == 0


def test_edit_and_delete_a_milestone(client: FlaskClient) -> None:
    consortium = _consortium(2)
    token = _coordinator(client, consortium)
    due = paris_today() + timedelta(days=5)
    client.post(
        f"/consortia/{consortium.slug}/echeances",
        data={"csrf_token": token, "title": "Avant", "due_date": due.isoformat(), "covers": ["budget"]},
    )
    milestone = db.session.scalar(select(Milestone))
    assert milestone is not None
    page = client.get(f"/consortia/{consortium.slug}/echeances?modifier={milestone.id}").get_data(
        as_text=True
    )
    assert "Modifier l'échéance" in page
    assert 'value="Avant"' in page
    response = client.post(
        f"/consortia/{consortium.slug}/echeances/{milestone.id}",
        data={"csrf_token": token, "title": "Après", "due_date": due.isoformat(), "covers": ["budget"]},
    )
    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.get(Milestone, milestone.id).title == "Après"
    response = client.post(
        f"/consortia/{consortium.slug}/echeances/{milestone.id}/supprimer", data={"csrf_token": token}
    )
    assert response.status_code == 303
    assert _count(Milestone) == 0


def test_another_consortiums_milestone_is_not_found(client: FlaskClient) -> None:
    consortium = _consortium(2)
    other = _consortium(2, slug="autre")
    outsider = make_member(other, Role.COORDINATOR, email="autre@exemple.fr")
    foreign = Milestone(
        consortium_id=other.id,
        title="Étrangère",
        due_date=paris_today(),
        covers=["budget"],
        created_by_id=outsider.id,
    )
    db.session.add(foreign)
    db.session.commit()
    token = _coordinator(client, consortium)
    base = f"/consortia/{consortium.slug}/echeances/{foreign.id}"
    assert (
        client.post(
            base,
            data={
                "csrf_token": token,
                "title": "Volée",
                "due_date": paris_today().isoformat(),
                "covers": ["budget"],
            },
        ).status_code
        == 404
    )
    assert client.post(base + "/supprimer", data={"csrf_token": token}).status_code == 404
    assert client.get(f"/consortia/{consortium.slug}/relances?echeance={foreign.id}").status_code == 404
    db.session.expire_all()
    assert db.session.get(Milestone, foreign.id).title == "Étrangère"


def test_preview_then_send_reminders_to_all(client: FlaskClient) -> None:
    consortium = _consortium(3)
    token = _coordinator(client, consortium)
    preview = client.get(f"/consortia/{consortium.slug}/relances?membre=tous").get_data(as_text=True)
    assert "Aperçu de la relance" in preview
    for partner in consortium.partners:
        assert f'data-partner="{partner.code}"' in preview
    assert "Engagements signés par la direction" in preview
    assert _count(OutboxMessage) == 0
    response = client.post(
        f"/consortia/{consortium.slug}/relances", data={"csrf_token": token, "membre": "tous"}
    )
    assert response.status_code == 303
    assert _count(Reminder) == 3
    contacts = {c["email"] for p in consortium.partners for c in p.contacts}
    assert {m.to for m in db.session.scalars(select(OutboxMessage))} == contacts
    page = client.get(f"/consortia/{consortium.slug}/echeances").get_data(as_text=True)
    assert "Relances envoyées" in page
    assert "coordinator test" in page
    assert "pour 3 membre(s)" in page


def test_reminder_to_a_partner_without_address_says_so_and_sends_nothing(client: FlaskClient) -> None:
    consortium = _consortium(3)
    partner = consortium.partners[1]
    partner.contacts = []
    db.session.commit()
    token = _coordinator(client, consortium)
    preview = client.get(f"/consortia/{consortium.slug}/relances?membre={partner.code}").get_data(
        as_text=True
    )
    assert "aucune adresse e-mail connue" in preview
    response = client.post(
        f"/consortia/{consortium.slug}/relances", data={"csrf_token": token, "membre": partner.code}
    )
    assert response.status_code == 303
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "n&#39;a aucune adresse e-mail connue" in page or "n'a aucune adresse e-mail connue" in page
    assert _count(OutboxMessage) == 0
    assert _count(Reminder) == 0


def test_partner_home_lists_what_is_left_before_the_nearest_milestone(client: FlaskClient) -> None:
    consortium = _consortium(3)
    lead = consortium.partners[0]
    db.session.add(
        Milestone(
            consortium_id=consortium.id,
            title="Budgets signés",
            due_date=paris_today() + timedelta(days=3),
            covers=["sign_off"],
        )
    )
    db.session.commit()
    director = make_member(consortium, Role.DIRECTOR, lead.code)
    login(client, director.email)
    html = client.get(f"/consortia/{consortium.slug}").get_data(as_text=True)
    assert "Il vous reste" in html
    assert "choses à faire avant le" in html
    assert "Dont 1 avant le" in html
    assert "Budgets signés" in html
    assert "Engagements signés par la direction" in html


def test_partner_home_says_when_the_deadline_has_passed(client: FlaskClient) -> None:
    consortium = make_consortium(2)  # the demo call's submission date is in 2019
    director = make_member(consortium, Role.DIRECTOR, consortium.partners[1].code)
    login(client, director.email)
    html = client.get(f"/consortia/{consortium.slug}").get_data(as_text=True)
    assert "à faire : l'échéance du 3 septembre 2019 est passée" in html
    assert "avant le 3 septembre 2019" not in html.split("mes-taches")[1].split("</h2>")[0]


def test_partner_home_says_when_everything_is_done(client: FlaskClient) -> None:
    consortium = _consortium(2)
    partner = consortium.partners[1]
    from app.sections.models import Section, SectionPart, SectionStatus

    for section in db.session.scalars(select(Section).where(Section.consortium_id == consortium.id)):
        part = db.session.scalar(
            select(SectionPart).where(
                SectionPart.section_id == section.id, SectionPart.partner_id == partner.id
            )
        )
        if part is None and section.scope.has_partner_parts:
            db.session.add(
                SectionPart(section_id=section.id, partner_id=partner.id, status=SectionStatus.VALIDATED)
            )
        elif part is not None:
            part.status = SectionStatus.VALIDATED
    db.session.commit()
    contributor = make_member(consortium, Role.CONTRIBUTOR, partner.code)
    login(client, contributor.email)
    html = client.get(f"/consortia/{consortium.slug}").get_data(as_text=True)
    assert "a tout fourni" in html


def test_coordinator_overview_has_no_partner_list(client: FlaskClient) -> None:
    consortium = _consortium(2)
    _coordinator(client, consortium)
    html = client.get(f"/consortia/{consortium.slug}").get_data(as_text=True)
    assert "Il vous reste" not in html
