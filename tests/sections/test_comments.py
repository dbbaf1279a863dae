"""Comments on section parts (app.sections.comments and the page): threads, replies, mentions, resolve."""

from __future__ import annotations

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from app.audit import AuditEvent
from app.auth.models import User
from app.consortia.models import Consortium, Role
from app.consortia.services import partner_by_code
from app.errors import Invalid, NotAllowed
from app.extensions import db
from app.mail.models import OutboxMessage
from app.sections import comments, summary
from app.sections.models import Section, SectionComment
from tests.factories import csrf_token, login, make_consortium, make_member, make_user

PAGE = "/consortia/cap-remob-idf/redaction/diagnostic"


@pytest.fixture
def demo() -> Consortium:
    return make_consortium()


@pytest.fixture
def coordinator(demo: Consortium) -> User:
    return make_member(demo, Role.COORDINATOR, "urtie-idf", email="coordination@exemple.fr")


@pytest.fixture
def director(demo: Consortium) -> User:
    return make_member(demo, Role.DIRECTOR, "plie-sevran", email="direction@plie-sevran.fr")


def section(demo: Consortium, code: str = "diagnostic") -> Section:
    found = db.session.scalar(select(Section).where(Section.consortium_id == demo.id, Section.code == code))
    assert found is not None
    return found


def outbox() -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def test_a_comment_mentioning_a_partner_emails_its_people_in_french(
    demo: Consortium, coordinator: User, director: User
) -> None:
    sevran = partner_by_code(demo, "plie-sevran")

    comment = comments.add_comment(
        section(demo),
        None,
        "  Pouvez-vous chiffrer le public <b>QPV</b> ?  ",
        mentions=[f"partner:{sevran.id}"],
        by=coordinator,
    )

    assert comment.body == "Pouvez-vous chiffrer le public <b>QPV</b> ?"
    assert comment.mentions == [{"kind": "partner", "id": sevran.id}]
    [mail] = outbox()
    assert mail.to == director.email
    assert mail.kind == "comment_mention"
    assert "vous mentionne" in mail.subject
    assert "Contexte et diagnostic territorial" in mail.subject
    assert "Pouvez-vous chiffrer le public <b>QPV</b> ?" in mail.text_body
    assert "/consortia/cap-remob-idf/redaction/diagnostic#commentaire-" in mail.text_body
    assert "&lt;b&gt;QPV&lt;/b&gt;" in mail.html_body  # a comment is plain text, never markup
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "section.comment_added"))
    assert event.data["comment_id"] == comment.id


def test_mentioning_a_person_emails_that_person_and_never_the_author(
    demo: Consortium, coordinator: User, director: User
) -> None:
    comments.add_comment(
        section(demo),
        None,
        "À relire",
        mentions=[f"user:{director.id}", f"user:{coordinator.id}"],
        by=coordinator,
    )
    assert [m.to for m in outbox()] == [director.email]


def test_mentions_outside_the_consortium_empty_and_overlong_comments_are_refused(
    demo: Consortium, coordinator: User
) -> None:
    stranger = make_user("ailleurs@exemple.fr")
    with pytest.raises(Invalid, match="Choisissez les personnes"):
        comments.add_comment(section(demo), None, "Coucou", mentions=[f"user:{stranger.id}"], by=coordinator)
    with pytest.raises(Invalid, match="Écrivez votre commentaire"):
        comments.add_comment(section(demo), None, " \x00 ", mentions=[], by=coordinator)
    with pytest.raises(Invalid, match="au plus"):
        comments.add_comment(section(demo), None, "x" * 5001, mentions=[], by=coordinator)
    assert db.session.scalars(select(SectionComment)).all() == []
    assert outbox() == []


def test_a_reply_joins_the_thread_and_a_reply_to_a_reply_joins_the_same_thread(
    demo: Consortium, coordinator: User, director: User
) -> None:
    sevran = partner_by_code(demo, "plie-sevran")
    thread = comments.add_comment(section(demo), sevran.id, "Question", mentions=[], by=coordinator)
    reply = comments.add_comment(section(demo), None, "Réponse", mentions=[], parent=thread, by=director)
    again = comments.add_comment(section(demo), None, "Merci", mentions=[], parent=reply, by=coordinator)

    assert reply.parent_id == thread.id
    assert again.parent_id == thread.id
    assert reply.part_id == thread.part_id == again.part_id
    assert thread.part.partner_id == sevran.id


def test_resolve_and_reopen_by_the_author_or_writers_but_not_by_others(
    demo: Consortium, coordinator: User, director: User
) -> None:
    other = make_member(demo, Role.DIRECTOR, "urtie-idf", email="autre@exemple.fr")
    sevran = partner_by_code(demo, "plie-sevran")
    thread = comments.add_comment(section(demo), sevran.id, "Question", mentions=[], by=coordinator)
    reply = comments.add_comment(section(demo), None, "Réponse", mentions=[], parent=thread, by=director)

    with pytest.raises(NotAllowed):
        comments.set_resolved(thread, True, by=other)
    with pytest.raises(Invalid):
        comments.set_resolved(reply, True, by=director)
    assert comments.set_resolved(thread, True, by=director)
    assert thread.resolved_by_id == director.id
    assert not comments.set_resolved(thread, True, by=director)
    assert comments.set_resolved(thread, False, by=coordinator)
    assert thread.resolved_at is None
    kinds = [
        e.kind
        for e in db.session.scalars(select(AuditEvent).where(AuditEvent.kind.like("section.comment_%")))
    ]
    assert kinds == [
        "section.comment_added",
        "section.comment_added",
        "section.comment_resolved",
        "section.comment_reopened",
    ]


def test_open_comments_are_counted_in_the_summary_and_on_the_page(
    client: FlaskClient, demo: Consortium, coordinator: User
) -> None:
    first = comments.add_comment(section(demo), None, "Un", mentions=[], by=coordinator)
    comments.add_comment(section(demo), None, "Deux", mentions=[], by=coordinator)
    comments.add_comment(section(demo), None, "Réponse", mentions=[], parent=first, by=coordinator)
    comments.set_resolved(first, True, by=coordinator)
    db.session.commit()

    row = next(r for r in summary.section_summary(demo) if r.code == "diagnostic")
    assert row.open_comments == 1  # threads, not messages: the resolved one and the reply do not count
    login(client, coordinator.email)
    assert "Commentaires (1 ouvert)" in client.get(PAGE).get_data(as_text=True)


def test_posting_a_comment_from_the_page_and_resolving_it(
    client: FlaskClient, demo: Consortium, coordinator: User, director: User
) -> None:
    login(client, director.email)
    token = csrf_token(client, PAGE)
    sevran = partner_by_code(demo, "plie-sevran")

    response = client.post(
        PAGE + f"/commentaires?partenaire={sevran.id}",
        data={
            "csrf_token": token,
            "body": "<script>alert(1)</script> Relisez-moi",
            "mentions": [f"user:{coordinator.id}"],
        },
    )

    assert response.status_code == 303
    [comment] = db.session.scalars(select(SectionComment)).all()
    assert response.headers["Location"].endswith(f"#commentaire-{comment.id}")
    page = client.get(PAGE).get_data(as_text=True)
    assert "Commentaire publié." in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; Relisez-moi" in page
    assert [m.to for m in outbox()] == [coordinator.email]

    response = client.post(
        PAGE + f"/commentaires/{comment.id}/resolution", data={"csrf_token": token, "action": "resolve"}
    )
    assert response.status_code == 303
    assert "Fil de discussion résolu." in client.get(PAGE).get_data(as_text=True)
    db.session.refresh(comment)
    assert comment.resolved_at is not None


def test_an_empty_comment_is_refused_next_to_the_field_and_an_expired_token_keeps_the_text(
    client: FlaskClient, demo: Consortium, coordinator: User
) -> None:
    login(client, coordinator.email)
    token = csrf_token(client, PAGE)

    response = client.post(PAGE + "/commentaires", data={"csrf_token": token, "body": "   "})
    assert response.status_code == 422
    assert "Écrivez votre commentaire." in response.get_data(as_text=True)

    response = client.post(
        PAGE + "/commentaires", data={"csrf_token": "vieux", "body": "Mon long commentaire"}
    )
    assert response.status_code == 400
    source = response.get_data(as_text=True)
    assert "Votre session a expiré" in source
    assert "Mon long commentaire" in source
    assert db.session.scalars(select(SectionComment)).all() == []


def test_a_comment_on_another_consortiums_thread_is_404(
    client: FlaskClient, demo: Consortium, coordinator: User
) -> None:
    login(client, coordinator.email)
    token = csrf_token(client, PAGE)
    assert (
        client.post(PAGE + "/commentaires/999999/resolution", data={"csrf_token": token}).status_code == 404
    )
    response = client.post(
        PAGE + "/commentaires", data={"csrf_token": token, "body": "x", "parent": "999999"}
    )
    assert response.status_code == 404
