"""Sign-off: the director certifies, any later change voids it, the coordinator follows and reminds."""

from __future__ import annotations

import re
from datetime import UTC
from decimal import Decimal
from html import unescape

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from app.audit import AuditEvent
from app.budget import calculations as calc
from app.budget import figures
from app.budget.models import SignOff
from app.consortia.models import Consortium, Partner, Role
from app.consortia.services import partner_by_code
from app.extensions import db
from app.mail.models import OutboxMessage
from tests.factories import csrf_token, login, make_consortium, make_member

OWN = "plie-sevran"
BUDGET = f"/consortia/cap-remob-idf/membres/{OWN}/budget"
SIGN = f"/consortia/cap-remob-idf/membres/{OWN}/signature"
FOLLOW = "/consortia/cap-remob-idf/signatures"


@pytest.fixture
def consortium() -> Consortium:
    return make_consortium()


def partner(consortium: Consortium, code: str = OWN) -> Partner:
    found = partner_by_code(consortium, code)
    assert found is not None
    return found


def text_of(html: str) -> str:
    html = re.sub(r"<(script|style|title)\b.*?</\1>", " ", html, flags=re.S)
    return re.sub(r"[ \t\r\n]+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def sign_offs_of(p: Partner) -> list[SignOff]:
    db.session.expire_all()
    return list(db.session.scalars(select(SignOff).where(SignOff.partner_id == p.id).order_by(SignOff.id)))


def state_in_consolidation(consortium: Consortium, code: str = OWN) -> calc.SignOffState:
    data = figures.load(consortium)
    return next(p.sign_off for p in data.figures.partners if p.id == code)


def test_director_signs_and_the_sign_off_records_who_when_and_digest(
    client: FlaskClient, consortium: Consortium
) -> None:
    director = make_member(consortium, Role.DIRECTOR, OWN, email="dir@exemple.fr")
    login(client, "dir@exemple.fr")
    before = len(sign_offs_of(partner(consortium)))
    response = client.post(SIGN, data={"csrf_token": csrf_token(client, BUDGET), "certify": "y"})
    assert response.status_code == 303
    rows = sign_offs_of(partner(consortium))
    assert len(rows) == before + 1
    latest = rows[-1]
    assert latest.by_email == "dir@exemple.fr"
    assert latest.by_user_id == director.id
    assert latest.at.tzinfo is not None
    assert latest.at.utcoffset() == UTC.utcoffset(None)
    assert latest.at_utc_offset_minutes == 0
    data = figures.load(consortium)
    plain = next(p for p in data.figures.partners if p.id == OWN)
    assert latest.digest == calc.figures_digest(data.figures.model, data.figures.indicators, plain)
    assert state_in_consolidation(consortium) is calc.SignOffState.VALID
    page = text_of(client.get(BUDGET).get_data(as_text=True))
    assert "Signé le" in page
    assert "Engagements signés." in page
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.kind == "budget.signed_off")) is not None


def test_signing_without_ticking_the_certification_signs_nothing(
    client: FlaskClient, consortium: Consortium
) -> None:
    make_member(consortium, Role.DIRECTOR, OWN, email="dir@exemple.fr")
    login(client, "dir@exemple.fr")
    before = len(sign_offs_of(partner(consortium)))
    client.post(SIGN, data={"csrf_token": csrf_token(client, BUDGET)})
    assert len(sign_offs_of(partner(consortium))) == before
    assert "Cochez « Je certifie l'exactitude de ces engagements » pour signer." in text_of(
        client.get(BUDGET).get_data(as_text=True)
    )


@pytest.mark.parametrize("role", [Role.CONTRIBUTOR, Role.COORDINATOR, Role.READER])
def test_only_the_partners_director_signs(client: FlaskClient, consortium: Consortium, role: Role) -> None:
    code = "urtie-idf" if role is Role.COORDINATOR else (OWN if role is Role.CONTRIBUTOR else None)
    make_member(consortium, role, code, email="x@exemple.fr")
    login(client, "x@exemple.fr")
    before = len(sign_offs_of(partner(consortium)))
    response = client.post(SIGN, data={"csrf_token": csrf_token(client, BUDGET), "certify": "y"})
    assert response.status_code == 403
    assert len(sign_offs_of(partner(consortium))) == before
    assert "Signer les engagements" not in client.get(BUDGET).get_data(as_text=True)


def test_director_of_another_partner_cannot_sign(client: FlaskClient, consortium: Consortium) -> None:
    make_member(consortium, Role.DIRECTOR, "mde-aulnay", email="autre@exemple.fr")
    login(client, "autre@exemple.fr")
    assert (
        client.post(SIGN, data={"csrf_token": csrf_token(client, BUDGET), "certify": "y"}).status_code == 403
    )


def test_a_void_sign_off_stays_in_the_history(client: FlaskClient, consortium: Consortium) -> None:
    make_member(consortium, Role.DIRECTOR, OWN, email="dir@exemple.fr")
    login(client, "dir@exemple.fr")
    # The demo's sign-off of this partner is already void (its digest no longer matches).
    page = text_of(client.get(BUDGET).get_data(as_text=True))
    assert "Signature caduque" in page
    client.post(SIGN, data={"csrf_token": csrf_token(client, BUDGET), "certify": "y"})
    html = client.get(BUDGET).get_data(as_text=True)
    history = re.search(r'data-testid="historique-signatures">(.*?)</ul>', html, flags=re.S)
    assert history is not None
    items = text_of(history.group(1))
    assert items.count("valide") == 1
    assert items.count("caduque") == 1


def test_coordinator_sees_signed_void_and_never_signed(client: FlaskClient, consortium: Consortium) -> None:
    make_member(consortium, Role.COORDINATOR, "urtie-idf", email="coord@exemple.fr")
    login(client, "coord@exemple.fr")
    html = client.get(FOLLOW).get_data(as_text=True)
    page = text_of(html)
    assert "Signatures des engagements" in page
    assert "3 signés · 1 caduque · 8 jamais signés" in page
    row = re.search(rf'<tr data-partner="{OWN}".*?</tr>', html, flags=re.S)
    assert row is not None
    assert "Signature caduque" in row.group(0)


def test_sign_off_follow_up_is_for_coordinators(client: FlaskClient, consortium: Consortium) -> None:
    make_member(consortium, Role.DIRECTOR, OWN, email="dir@exemple.fr")
    login(client, "dir@exemple.fr")
    assert client.get(FOLLOW).status_code == 403
    assert client.get(FOLLOW + "/relance").status_code == 403
    token = csrf_token(client, BUDGET)
    assert client.post(FOLLOW + "/relance", data={"csrf_token": token}).status_code == 403
    assert db.session.scalar(select(OutboxMessage)) is None


def test_reminder_preview_then_send_to_one_partner_through_the_outbox(
    client: FlaskClient, consortium: Consortium
) -> None:
    make_member(consortium, Role.COORDINATOR, "urtie-idf", email="coord@exemple.fr")
    make_member(consortium, Role.DIRECTOR, OWN, email="dir@exemple.fr")
    login(client, "coord@exemple.fr")
    preview = text_of(client.get(FOLLOW + f"/relance?membre={OWN}").get_data(as_text=True))
    assert "Aperçu du message" in preview
    assert "ont changé depuis leur dernière signature" in preview
    assert "dir@exemple.fr" in preview
    assert db.session.scalar(select(OutboxMessage)) is None
    response = client.post(
        FOLLOW + "/relance", data={"csrf_token": csrf_token(client, FOLLOW), "membre": OWN}
    )
    assert response.status_code == 303
    mails = db.session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "sign_off_reminder")).all()
    assert [m.to for m in mails] == ["dir@exemple.fr"]
    assert "PLIE de Sevran" in mails[0].subject
    assert f"/consortia/cap-remob-idf/membres/{OWN}/budget" in mails[0].text_body
    assert "Relance placée dans la boîte d'envoi : 1 e-mail(s)." in text_of(
        client.get(FOLLOW).get_data(as_text=True)
    )
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.kind == "budget.sign_off_reminded"))
    assert event is not None
    assert event.data["recipients"] == ["dir@exemple.fr"]


def test_reminder_to_all_goes_to_every_active_partner_not_validly_signed(
    client: FlaskClient, consortium: Consortium
) -> None:
    make_member(consortium, Role.COORDINATOR, "urtie-idf", email="coord@exemple.fr")
    login(client, "coord@exemple.fr")
    client.post(FOLLOW + "/relance", data={"csrf_token": csrf_token(client, FOLLOW)})
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "budget.sign_off_reminded")).all()
    reminded = {e.data["partner"] for e in events}
    assert len(reminded) == 9
    assert OWN in reminded
    assert "mde-aulnay" not in reminded
    assert db.session.scalars(select(OutboxMessage)).first() is not None


def test_reminding_a_validly_signed_partner_sends_nothing(
    client: FlaskClient, consortium: Consortium
) -> None:
    make_member(consortium, Role.COORDINATOR, "urtie-idf", email="coord@exemple.fr")
    login(client, "coord@exemple.fr")
    client.post(FOLLOW + "/relance", data={"csrf_token": csrf_token(client, FOLLOW), "membre": "mde-aulnay"})
    assert db.session.scalar(select(OutboxMessage)) is None
    assert "Aucun membre à relancer" in text_of(client.get(FOLLOW).get_data(as_text=True))


def test_withdrawn_partner_cannot_be_signed(client: FlaskClient, consortium: Consortium) -> None:
    from app.consortia.models import PartnerStatus

    make_member(consortium, Role.DIRECTOR, OWN, email="dir@exemple.fr")
    partner(consortium).status = PartnerStatus.WITHDRAWN
    db.session.commit()
    login(client, "dir@exemple.fr")
    before = len(sign_offs_of(partner(consortium)))
    client.post(SIGN, data={"csrf_token": csrf_token(client, BUDGET), "certify": "y"})
    assert len(sign_offs_of(partner(consortium))) == before
    assert "ses chiffres ne se signent plus" in text_of(client.get(BUDGET).get_data(as_text=True))


def test_a_sign_off_already_void_before_a_save_is_not_announced_again(
    client: FlaskClient, consortium: Consortium
) -> None:
    from app.commitments import services as entry
    from app.commitments.cells import CellEdit

    # The demo's sign-off of this partner no longer matches its figures: no save voided it.
    contributor = make_member(consortium, Role.CONTRIBUTOR, OWN, email="contrib@exemple.fr")
    make_member(consortium, Role.DIRECTOR, OWN, email="dir@exemple.fr")
    own = partner(consortium)
    assert state_in_consolidation(consortium) is calc.SignOffState.VOID
    entry.save_budget(
        own, [CellEdit((2020, "resource", "region_idf"), (Decimal("1.00"),), 0)], by=contributor
    )
    db.session.commit()
    assert sign_offs_of(own)[-1].voided_at is None
    assert db.session.scalar(select(OutboxMessage)) is None
