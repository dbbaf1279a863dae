"""The partners pages as people use them: what they show, who may act, and what bad input gets."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from html import unescape
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.audit import AuditEvent
from app.auth.models import User
from app.budget.services import consolidation_of
from app.consortia.models import (
    Consortium,
    Invitation,
    Partner,
    PartnerStatus,
    RequestStatus,
    Role,
    RoleGrant,
    VolunteerRequest,
)
from app.consortia.services import partner_by_code
from app.database import utcnow
from app.extensions import db
from app.mail.models import OutboxMessage
from app.money import format_eur
from tests.factories import csrf_token, login, make_consortium, make_member, make_user

OWN = "plie-sevran"
OTHER = "mde-aulnay"
LEAD = "urtie-idf"
HOSTILE = '"><script>alert(1)</script> {{7*7}} PLIE 🚀'


@pytest.fixture
def consortium() -> Consortium:
    return make_consortium()


def partner(consortium: Consortium, code: str) -> Partner:
    found = partner_by_code(consortium, code)
    assert found is not None
    return found


def text_of(html: str) -> str:
    """What a reader sees: tags removed, entities decoded, spaces folded (no-break ones kept)."""
    html = re.sub(r"<(script|style|title)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"[ \t\r\n]+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def row_of(html: str, code: str) -> str:
    """The text of the partners table's row for one partner."""
    match = re.search(rf'<tr data-partner="{re.escape(code)}".*?</tr>', html, flags=re.S)
    assert match, f"pas de ligne pour {code}"
    return text_of(match.group(0))


def events(kind: str) -> list[dict[str, Any]]:
    # `partner_id` (the event's partner, also copied into its data) is checked by tests/activity.
    rows = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == kind))
    return [{key: value for key, value in event.data.items() if key != "partner_id"} for event in rows]


def grant_of(user: User) -> RoleGrant:
    return db.session.scalars(select(RoleGrant).where(RoleGrant.user_id == user.id)).one()


def as_member(client: FlaskClient, consortium: Consortium, role: Role, code: str | None, email: str) -> User:
    user = make_member(consortium, role, code, email=email)
    login(client, user.email)
    return user


def post(
    client: FlaskClient, path: str, data: dict[str, str] | None = None, *, token_from: str | None = None
) -> Any:
    token = csrf_token(client, token_from or path.rsplit("/", 1)[0])
    return client.post(path, data={"csrf_token": token, **(data or {})})


# --- the partners page ---------------------------------------------------------------------------


def test_partners_page_shows_each_partner_with_status_role_departement_people_and_figures(
    client: FlaskClient, consortium: Consortium
) -> None:
    director = make_member(consortium, Role.DIRECTOR, OWN, email="dir@exemple.fr")
    director.name = "Dominique Directrice"
    as_member(client, consortium, Role.READER, None, "lecteur@exemple.fr")
    totals = {row.id: row for row in consolidation_of(consortium).consolidation.partners}

    html = client.get(f"/consortia/{consortium.slug}/membres").get_data(as_text=True)

    assert len(re.findall(r'<tr data-partner="', html)) == 12
    sevran = row_of(html, OWN)
    assert sevran.startswith("PLIE de Sevran Actif Membre 93 Dominique Directrice · Direction")
    assert format_eur(totals[OWN].total_expenses) in sevran
    assert str(totals[OWN].participants) in sevran
    assert "Chef de file" in row_of(html, LEAD)
    assert "Personne pour l'instant" in row_of(html, OTHER)
    total_cost = format_eur(consolidation_of(consortium).consolidation.total_cost)
    assert re.search(rf"Total des membres actifs [0-9\u202f]+ {total_cost}", text_of(html))
    # A reader reads; nothing to manage.
    assert "Changer de chef de file" not in html
    assert "Inviter une organisation" not in html


def test_partners_page_lists_pending_requests_and_invited_organisations(
    client: FlaskClient, consortium: Consortium
) -> None:
    db.session.add_all(
        [
            VolunteerRequest(
                consortium=consortium,
                organisation_key="plie-de-montreuil|93",
                organisation_name="PLIE de Montreuil",
                departement="93",
                contact_name="Sacha",
                email="sacha@exemple.fr",
                participants_per_year=80,
            ),
            VolunteerRequest(
                consortium=consortium,
                status=RequestStatus.DECLINED,
                organisation_key="refuse|75",
                organisation_name="Structure refusée",
                departement="75",
                contact_name="X",
                email="x@exemple.fr",
            ),
            Invitation(
                consortium=consortium,
                role=Role.DIRECTOR,
                email="direction@cergy.example",
                organisation_name="PLIE de Cergy",
                organisation_departement="95",
                token_hash="a" * 64,
                expires_at=utcnow() + timedelta(days=14),
            ),
            Invitation(
                consortium=consortium,
                role=Role.DIRECTOR,
                email="old@exemple.fr",
                organisation_name="Invitation expirée",
                token_hash="b" * 64,
                expires_at=utcnow() - timedelta(days=1),
            ),
        ]
    )
    as_member(client, consortium, Role.COORDINATOR, LEAD, "coord@exemple.fr")

    html = client.get(f"/consortia/{consortium.slug}/membres").get_data(as_text=True)
    page = text_of(html)

    assert "12 membres actifs · 1 candidature en attente · 1 organisation invitée" in page
    assert "PLIE de Montreuil En attente" in page
    assert "≈ 80 par an (estimation)" in page
    assert "PLIE de Cergy Invité" in page
    assert "Structure refusée" not in page
    assert "Invitation expirée" not in page
    assert "sacha@exemple.fr" not in page


@pytest.mark.parametrize("who", ["coordinator", "admin"])
def test_partners_page_runs_as_many_queries_for_30_partners_as_for_3(
    client: FlaskClient, count_queries: Any, who: str
) -> None:
    statements = {}
    for partners in (3, 30):
        consortium = make_consortium(partners, slug=f"membres-{partners}")
        make_member(
            consortium,
            Role.DIRECTOR,
            OWN if partners > 3 else "mde-plaine-commune",
            email=f"d{partners}@x.fr",
        )
        db.session.add(
            VolunteerRequest(
                consortium=consortium,
                organisation_key=f"k{partners}",
                organisation_name="Candidate",
                departement="93",
                contact_name="C",
                email="c@exemple.fr",
            )
        )
        member_client = client.application.test_client()
        if who == "admin":
            user = make_user(f"admin-{partners}@exemple.fr", admin=True)
        else:
            user = make_member(consortium, Role.COORDINATOR, LEAD, email=f"coord-{partners}@exemple.fr")
        login(member_client, user.email)
        count_queries.statements.clear()
        response = member_client.get(f"/consortia/{consortium.slug}/membres")
        statements[partners] = list(count_queries.statements)
        assert response.status_code == 200
        assert len(re.findall(r'<tr data-partner="', response.get_data(as_text=True))) == partners

    assert len(statements[30]) == len(statements[3]), "\n".join(
        f"{n}: {Counter(' '.join(s.split())[:90] for s in run)}" for n, run in statements.items()
    )


def test_partners_page_shows_the_map_with_partners_per_departement(
    client: FlaskClient, consortium: Consortium
) -> None:
    as_member(client, consortium, Role.READER, None, "lecteur@exemple.fr")

    html = client.get(f"/consortia/{consortium.slug}/membres").get_data(as_text=True)

    assert html.count('<svg xmlns="http://www.w3.org/2000/svg"') == 1
    assert "style=" not in html.split("<svg", 1)[1].split("</svg>", 1)[0]
    row93 = text_of(re.search(r'<tr id="carte-membres-93".*?</tr>', html, flags=re.S).group(0))  # type: ignore[union-attr]
    assert row93.startswith("Seine-Saint-Denis (93) 600 ")
    assert "PLIE de Sevran" in row93
    row91 = text_of(re.search(r'<tr id="carte-membres-91".*?</tr>', html, flags=re.S).group(0))  # type: ignore[union-attr]
    assert "EPT Grand-Orly Seine Bièvre (EPT 12) – PLIE (94/91 : 105 ici)" in row91
    assert "URTIE Île-de-France (IDF)" in text_of(html)
    assert "licence CC BY 4.0" in text_of(html)


def test_markup_and_emoji_in_an_organisation_name_are_shown_literally(
    client: FlaskClient, consortium: Consortium
) -> None:
    partner(consortium, OWN).organisation.rename(HOSTILE)
    as_member(client, consortium, Role.COORDINATOR, LEAD, "coord@exemple.fr")

    listing = client.get(f"/consortia/{consortium.slug}/membres").get_data(as_text=True)
    detail = client.get(f"/consortia/{consortium.slug}/membres/{OWN}").get_data(as_text=True)

    for html in (listing, detail):
        assert "<script>alert(1)</script>" not in html
        assert HOSTILE in text_of(html)
    svg = listing.split("<svg", 1)[1].split("</svg>", 1)[0]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    assert "🚀" in svg


def test_non_member_gets_not_found(client: FlaskClient, consortium: Consortium) -> None:
    login(client, make_user("dehors@exemple.fr").email)

    assert client.get(f"/consortia/{consortium.slug}/membres").status_code == 404
    assert client.get(f"/consortia/{consortium.slug}/membres/{OWN}").status_code == 404


def test_unknown_partner_code_is_not_found(client: FlaskClient, consortium: Consortium) -> None:
    as_member(client, consortium, Role.READER, None, "lecteur@exemple.fr")

    response = client.get(f"/consortia/{consortium.slug}/membres/nexiste-pas")

    assert response.status_code == 404
    assert "Ce membre n'existe pas dans ce consortium." in text_of(response.get_data(as_text=True))


# --- people --------------------------------------------------------------------------------------


def test_director_sees_and_manages_its_own_people(client: FlaskClient, consortium: Consortium) -> None:
    contributor = make_member(consortium, Role.CONTRIBUTOR, OWN, email="contrib@exemple.fr")
    as_member(client, consortium, Role.DIRECTOR, OWN, "dir@exemple.fr")
    path = f"/consortia/{consortium.slug}/membres/{OWN}"

    page = client.get(path).get_data(as_text=True)
    assert "contrib@exemple.fr" in page
    assert "Retirer…" in page
    assert "Retirer ce membre du consortium…" in page

    grant = grant_of(contributor)
    response = post(client, f"{path}/personnes/{grant.id}/role", {"role": "director"}, token_from=path)

    assert response.status_code == 303
    assert "a désormais le rôle « Direction »" in text_of(client.get(path).get_data(as_text=True))
    db.session.expire_all()
    assert grant_of(contributor).role == Role.DIRECTOR


def test_director_cannot_manage_another_partners_people(client: FlaskClient, consortium: Consortium) -> None:
    other = make_member(consortium, Role.DIRECTOR, OTHER, email="autre@exemple.fr")
    as_member(client, consortium, Role.DIRECTOR, OWN, "dir@exemple.fr")
    grant = grant_of(other)
    base = f"/consortia/{consortium.slug}/membres"

    page = client.get(f"{base}/{OTHER}").get_data(as_text=True)
    role = post(client, f"{base}/{OTHER}/personnes/{grant.id}/role", {"role": "contributor"}, token_from=base)
    remove = post(client, f"{base}/{OTHER}/personnes/{grant.id}/retirer", token_from=base)
    sideways = post(client, f"{base}/{OWN}/personnes/{grant.id}/retirer", token_from=base)

    assert "autre@exemple.fr" not in page
    assert "Retirer…" not in page
    assert role.status_code == remove.status_code == 403
    assert "Seules la coordination et la direction de ce membre gèrent ses personnes." in text_of(
        role.get_data(as_text=True)
    )
    assert sideways.status_code == 404
    db.session.expire_all()
    assert grant_of(other).role == Role.DIRECTOR
    assert events("role.changed") == events("role.revoked") == []


def test_contributor_cannot_change_roles(client: FlaskClient, consortium: Consortium) -> None:
    director = make_member(consortium, Role.DIRECTOR, OWN, email="dir@exemple.fr")
    as_member(client, consortium, Role.CONTRIBUTOR, OWN, "contrib@exemple.fr")
    path = f"/consortia/{consortium.slug}/membres/{OWN}"

    response = post(
        client, f"{path}/personnes/{grant_of(director).id}/role", {"role": "contributor"}, token_from=path
    )

    assert response.status_code == 403
    db.session.expire_all()
    assert grant_of(director).role == Role.DIRECTOR


def test_an_unknown_role_is_refused_with_a_french_message(
    client: FlaskClient, consortium: Consortium
) -> None:
    contributor = make_member(consortium, Role.CONTRIBUTOR, OWN, email="contrib@exemple.fr")
    as_member(client, consortium, Role.DIRECTOR, OWN, "dir@exemple.fr")
    path = f"/consortia/{consortium.slug}/membres/{OWN}"

    for role in ("coordinator", "admin", ""):
        response = post(
            client, f"{path}/personnes/{grant_of(contributor).id}/role", {"role": role}, token_from=path
        )
        assert response.status_code == 303
        assert "Choisissez « Direction » ou « Contribution »." in text_of(
            client.get(path).get_data(as_text=True)
        )

    db.session.expire_all()
    assert grant_of(contributor).role == Role.CONTRIBUTOR


def test_last_director_is_told_why_they_cannot_step_down(client: FlaskClient, consortium: Consortium) -> None:
    director = as_member(client, consortium, Role.DIRECTOR, OWN, "dir@exemple.fr")
    path = f"/consortia/{consortium.slug}/membres/{OWN}"
    grant = grant_of(director)

    demote = post(client, f"{path}/personnes/{grant.id}/role", {"role": "contributor"}, token_from=path)
    shown = text_of(client.get(path).get_data(as_text=True))
    remove = post(client, f"{path}/personnes/{grant.id}/retirer", token_from=path)
    shown_after_remove = text_of(client.get(path).get_data(as_text=True))

    assert demote.status_code == remove.status_code == 303
    assert "Vous êtes la seule personne à la direction de PLIE de Sevran" in shown
    assert "avant de vous retirer" in shown_after_remove
    db.session.expire_all()
    assert grant_of(director).role == Role.DIRECTOR


def test_removing_a_person_asks_for_confirmation_then_keeps_their_account(
    client: FlaskClient, consortium: Consortium
) -> None:
    contributor = make_member(consortium, Role.CONTRIBUTOR, OWN, email="contrib@exemple.fr")
    as_member(client, consortium, Role.COORDINATOR, LEAD, "coord@exemple.fr")
    path = f"/consortia/{consortium.slug}/membres/{OWN}/personnes/{grant_of(contributor).id}/retirer"

    confirm = client.get(path)
    assert "Son compte et tout ce qu'il ou elle a écrit ou saisi sont conservés." in text_of(
        confirm.get_data(as_text=True)
    )
    db.session.expire_all()
    assert db.session.scalar(select(RoleGrant).where(RoleGrant.user_id == contributor.id)) is not None

    response = post(client, path)

    assert response.status_code == 303
    db.session.expire_all()
    assert db.session.scalar(select(RoleGrant).where(RoleGrant.user_id == contributor.id)) is None
    assert db.session.get(User, contributor.id) is not None
    assert events("role.revoked") == [{"user": "contrib@exemple.fr", "partner": OWN, "old": "contributor"}]


# --- withdrawal ----------------------------------------------------------------------------------


def test_director_withdraws_its_partner_and_the_overview_total_drops(
    client: FlaskClient, consortium: Consortium
) -> None:
    make_member(consortium, Role.COORDINATOR, LEAD, email="coord@exemple.fr")
    as_member(client, consortium, Role.DIRECTOR, OWN, "dir@exemple.fr")
    before = consolidation_of(consortium).consolidation
    own = next(row for row in before.partners if row.id == OWN)
    path = f"/consortia/{consortium.slug}/membres/{OWN}/retrait"

    form = client.get(path).get_data(as_text=True)
    assert "ne comptent plus" in text_of(form)
    response = post(client, path, {"reason": "Fusion avec un PLIE voisin"})

    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/consortia/{consortium.slug}/membres")
    listing = client.get(f"/consortia/{consortium.slug}/membres").get_data(as_text=True)
    assert "PLIE de Sevran est retiré du consortium." in text_of(listing)
    assert "Retiré" in row_of(listing, OWN)
    assert "Fusion avec un PLIE voisin" in row_of(listing, OWN)
    overview = text_of(client.get(f"/consortia/{consortium.slug}").get_data(as_text=True))
    assert f"Coût total {format_eur(before.total_cost - own.total_expenses)}" in overview
    assert sorted(m.to for m in db.session.scalars(select(OutboxMessage))) == [
        "coord@exemple.fr",
        "dir@exemple.fr",
    ]


@pytest.mark.parametrize("reason", ["", "   \n  "])
def test_withdrawal_without_a_reason_is_refused_and_keeps_the_text(
    client: FlaskClient, consortium: Consortium, reason: str
) -> None:
    as_member(client, consortium, Role.DIRECTOR, OWN, "dir@exemple.fr")
    path = f"/consortia/{consortium.slug}/membres/{OWN}/retrait"

    response = post(client, path, {"reason": reason})

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Indiquez la raison du retrait : elle est communiquée aux autres membres." in text_of(html)
    assert f">\r\n{reason}</textarea>" in html  # what was typed, even blank, comes back
    db.session.expire_all()
    assert partner(consortium, OWN).status == PartnerStatus.ACTIVE


def test_an_overlong_reason_is_refused_and_kept(client: FlaskClient, consortium: Consortium) -> None:
    as_member(client, consortium, Role.DIRECTOR, OWN, "dir@exemple.fr")
    reason = "Très long. " * 200

    response = post(client, f"/consortia/{consortium.slug}/membres/{OWN}/retrait", {"reason": reason})

    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "ne peut pas dépasser 2000 caractères" in text_of(html)
    assert reason.strip() in unescape(html)
    db.session.expire_all()
    assert partner(consortium, OWN).is_active


def test_an_expired_form_keeps_the_reason_and_changes_nothing(
    client: FlaskClient, consortium: Consortium
) -> None:
    as_member(client, consortium, Role.DIRECTOR, OWN, "dir@exemple.fr")

    response = client.post(
        f"/consortia/{consortium.slug}/membres/{OWN}/retrait",
        data={"reason": "Ma raison", "csrf_token": "périmé"},
    )

    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "Votre session a expiré. Votre saisie est conservée" in text_of(html)
    assert "Ma raison</textarea>" in html
    db.session.expire_all()
    assert partner(consortium, OWN).is_active


def test_a_double_submitted_withdrawal_is_a_no_op(client: FlaskClient, consortium: Consortium) -> None:
    as_member(client, consortium, Role.DIRECTOR, OWN, "dir@exemple.fr")
    path = f"/consortia/{consortium.slug}/membres/{OWN}/retrait"
    token = csrf_token(client, f"/consortia/{consortium.slug}/membres")

    first = client.post(path, data={"reason": "Raison", "csrf_token": token})
    second = client.post(path, data={"reason": "Raison", "csrf_token": token})

    assert first.status_code == second.status_code == 303
    assert "PLIE de Sevran est déjà retiré du consortium : rien n'a changé." in text_of(
        client.get(second.headers["Location"]).get_data(as_text=True)
    )
    assert len(events("partner.withdrawn")) == 1
    assert db.session.scalar(select(func.count()).select_from(OutboxMessage)) == 1


def test_the_lead_cannot_be_withdrawn(client: FlaskClient, consortium: Consortium) -> None:
    as_member(client, consortium, Role.COORDINATOR, LEAD, "coord@exemple.fr")
    path = f"/consortia/{consortium.slug}/membres/{LEAD}/retrait"

    page = text_of(client.get(f"/consortia/{consortium.slug}/membres/{LEAD}").get_data(as_text=True))
    shown = client.get(path)
    posted = post(client, path, {"reason": "Raison"}, token_from=f"/consortia/{consortium.slug}/membres")

    assert "Le chef de file ne peut pas se retirer." in page
    assert "Changer de chef de file" in page
    assert shown.status_code == posted.status_code == 403
    assert "La coordination doit d'abord confier le rôle de chef de file" in text_of(
        posted.get_data(as_text=True)
    )
    db.session.expire_all()
    assert partner(consortium, LEAD).is_active
    assert events("partner.withdrawn") == []


def test_director_cannot_withdraw_another_partner(client: FlaskClient, consortium: Consortium) -> None:
    as_member(client, consortium, Role.DIRECTOR, OWN, "dir@exemple.fr")
    path = f"/consortia/{consortium.slug}/membres/{OTHER}/retrait"

    response = post(client, path, {"reason": "Raison"}, token_from=f"/consortia/{consortium.slug}/membres")

    assert response.status_code == 403
    db.session.expire_all()
    assert partner(consortium, OTHER).is_active


def test_coordinator_reinstates_and_a_director_cannot(client: FlaskClient, consortium: Consortium) -> None:
    director = make_member(consortium, Role.DIRECTOR, OWN, email="dir@exemple.fr")
    sevran = partner(consortium, OWN)
    sevran.status = PartnerStatus.WITHDRAWN
    sevran.withdrawn_reason = "Raison"
    path = f"/consortia/{consortium.slug}/membres/{OWN}/reintegration"
    login(client, director.email)

    refused = post(client, path, token_from=f"/consortia/{consortium.slug}/membres")
    assert refused.status_code == 403

    client.post("/deconnexion", data={"csrf_token": csrf_token(client, "/")})
    as_member(client, consortium, Role.COORDINATOR, LEAD, "coord@exemple.fr")
    page = client.get(f"/consortia/{consortium.slug}/membres/{OWN}").get_data(as_text=True)
    assert "Réintégrer" in page
    done = post(client, path, token_from=f"/consortia/{consortium.slug}/membres")

    assert done.status_code == 303
    assert "PLIE de Sevran réintègre le consortium" in text_of(
        client.get(done.headers["Location"]).get_data(as_text=True)
    )
    db.session.expire_all()
    assert partner(consortium, OWN).is_active
    assert len(events("partner.reinstated")) == 1


# --- lead ----------------------------------------------------------------------------------------


def test_coordinator_hands_the_lead_over_after_a_confirmation(
    client: FlaskClient, consortium: Consortium
) -> None:
    coordinator = as_member(client, consortium, Role.COORDINATOR, LEAD, "coord@exemple.fr")
    path = f"/consortia/{consortium.slug}/chef-de-file"

    choice = client.get(path).get_data(as_text=True)
    assert "Les personnes de la coordination gardent leur rôle" in text_of(choice)
    token = csrf_token(client, path)
    confirm = client.post(path, data={"csrf_token": token, "new_lead": OTHER})

    assert confirm.status_code == 200
    assert "Confirmer : Maison de l'emploi d'Aulnay-sous-Bois devient chef de file" in text_of(
        confirm.get_data(as_text=True)
    )
    db.session.expire_all()
    assert consortium.lead_partner_id == partner(consortium, LEAD).id

    done = client.post(path, data={"csrf_token": token, "new_lead": OTHER, "confirmed": "1"})

    assert done.status_code == 303
    db.session.expire_all()
    assert consortium.lead_partner_id == partner(consortium, OTHER).id
    assert grant_of(coordinator).role == Role.COORDINATOR
    assert events("consortium.lead_changed") == [{"old": LEAD, "new": OTHER}]
    listing = client.get(done.headers["Location"]).get_data(as_text=True)
    assert "Chef de file" in row_of(listing, OTHER)
    assert "Chef de file" not in row_of(listing, LEAD)


def test_hand_over_without_a_choice_or_to_a_withdrawn_partner_is_refused(
    client: FlaskClient, consortium: Consortium
) -> None:
    partner(consortium, OWN).status = PartnerStatus.WITHDRAWN
    as_member(client, consortium, Role.COORDINATOR, LEAD, "coord@exemple.fr")
    path = f"/consortia/{consortium.slug}/chef-de-file"
    token = csrf_token(client, path)

    empty = client.post(path, data={"csrf_token": token})
    withdrawn = client.post(path, data={"csrf_token": token, "new_lead": OWN, "confirmed": "1"})
    unknown = client.post(path, data={"csrf_token": token, "new_lead": "inconnu", "confirmed": "1"})

    assert empty.status_code == 422
    assert "Choisissez le membre qui devient chef de file." in text_of(empty.get_data(as_text=True))
    assert withdrawn.status_code == 422
    assert "Un membre retiré ne peut pas devenir chef de file" in text_of(withdrawn.get_data(as_text=True))
    assert unknown.status_code == 404
    db.session.expire_all()
    assert consortium.lead_partner_id == partner(consortium, LEAD).id


@pytest.mark.parametrize("role", [Role.DIRECTOR, Role.READER])
def test_only_the_coordinator_reaches_the_hand_over(
    client: FlaskClient, consortium: Consortium, role: Role
) -> None:
    as_member(client, consortium, role, OWN if role == Role.DIRECTOR else None, "x@exemple.fr")
    path = f"/consortia/{consortium.slug}/chef-de-file"

    assert client.get(path).status_code == 403
    response = client.post(
        path,
        data={
            "csrf_token": csrf_token(client, f"/consortia/{consortium.slug}/membres"),
            "new_lead": OWN,
            "confirmed": "1",
        },
    )
    assert response.status_code == 403
    db.session.expire_all()
    assert consortium.lead_partner_id == partner(consortium, LEAD).id
