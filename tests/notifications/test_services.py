"""Notifications: each person's choice per kind (at once or daily digest), and the digest itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from app.audit import AuditEvent
from app.auth.models import User
from app.consortia.models import Consortium, Role
from app.consortia.services import grant_role, partner_by_code
from app.errors import Invalid, NotAllowed
from app.extensions import db
from app.mail.models import OutboxMessage
from app.notifications import services
from app.notifications.models import Delivery, DigestItem, NotificationKind, NotificationPreference
from app.sections import comments, editing
from app.sections.models import Section, SectionStatus
from app.sections.saving import save_part
from tests.factories import make_consortium, make_member


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


def digest_items(user: User) -> list[DigestItem]:
    return list(
        db.session.scalars(select(DigestItem).where(DigestItem.user_id == user.id).order_by(DigestItem.id))
    )


def choose(user: User, **chosen: Delivery) -> None:
    choices = {kind.value: Delivery.IMMEDIATE.value for kind in NotificationKind}
    choices.update({kind: delivery.value for kind, delivery in chosen.items()})
    services.set_preferences(user, choices, by=user)
    db.session.commit()


def mention(demo: Consortium, author: User, target: User, text: str = "Pouvez-vous relire ?") -> None:
    comments.add_comment(section(demo), None, text, mentions=[f"user:{target.id}"], by=author)
    db.session.commit()


def test_without_a_choice_a_mention_is_emailed_at_once(
    demo: Consortium, coordinator: User, director: User
) -> None:
    assert services.preferences_of(director)[NotificationKind.MENTION] is Delivery.IMMEDIATE

    mention(demo, coordinator, director)

    [mail] = outbox()
    assert mail.to == director.email
    assert mail.kind == "comment_mention"
    assert digest_items(director) == []


def test_a_mention_waits_for_the_digest_when_the_person_chose_it(
    demo: Consortium, coordinator: User, director: User
) -> None:
    choose(director, mention=Delivery.DIGEST)

    mention(demo, coordinator, director, "Pouvez-vous chiffrer le public QPV ?")

    assert outbox() == []
    [item] = digest_items(director)
    assert item.kind is NotificationKind.MENTION
    assert item.consortium_id == demo.id
    assert "vous mentionne" in item.subject
    assert "> Pouvez-vous chiffrer le public QPV ?" in item.text
    assert not item.text.startswith("Bonjour")  # the digest greets once, for every item
    assert "--" not in item.text.splitlines()
    assert f"/consortia/{demo.slug}/redaction/diagnostic#commentaire-" in item.link
    assert item.link not in item.text  # the digest gives the link once, under the item
    assert item.sent_at is None


def test_the_choice_is_per_kind(demo: Consortium, coordinator: User, director: User) -> None:
    # Digest for mentions, at once for comments on the text the person writes.
    choose(director, mention=Delivery.DIGEST)
    sevran = partner_by_code(demo, "plie-sevran")

    comments.add_comment(section(demo), sevran.id, "Le chiffre de 2025 manque.", mentions=[], by=coordinator)
    db.session.commit()

    [mail] = outbox()
    assert mail.to == director.email
    assert mail.kind == "comment_added"
    assert "commente" in mail.subject
    assert "dont vous rédigez le texte" in mail.text_body
    assert digest_items(director) == []


def test_a_comment_on_a_partner_part_tells_its_writers_never_the_author(
    demo: Consortium, coordinator: User, director: User
) -> None:
    contributor = make_member(demo, Role.CONTRIBUTOR, "plie-sevran", email="redaction@plie-sevran.fr")
    make_member(demo, Role.DIRECTOR, "atout-plie", email="direction@atout-plie.fr")
    sevran = partner_by_code(demo, "plie-sevran")

    comments.add_comment(section(demo), sevran.id, "J'ai complété le tableau.", mentions=[], by=contributor)
    db.session.commit()

    assert [mail.to for mail in outbox()] == [director.email]  # not the author, not another partner


def test_a_person_mentioned_on_their_own_text_hears_of_it_once(
    demo: Consortium, coordinator: User, director: User
) -> None:
    sevran = partner_by_code(demo, "plie-sevran")

    comments.add_comment(
        section(demo), sevran.id, "Une question.", mentions=[f"user:{director.id}"], by=coordinator
    )
    db.session.commit()

    [mail] = outbox()
    assert mail.kind == "comment_mention"


def test_a_comment_on_the_shared_text_tells_its_lead_writer(
    demo: Consortium, coordinator: User, director: User
) -> None:
    found = section(demo)
    found.writer_user_id = director.id
    db.session.commit()

    comments.add_comment(found, None, "Bonne base, à étoffer.", mentions=[], by=coordinator)
    db.session.commit()

    [mail] = outbox()
    assert (mail.to, mail.kind) == (director.email, "comment_added")


def test_a_validated_text_edited_again_goes_to_the_coordinators_digest_when_chosen(
    demo: Consortium, coordinator: User, director: User
) -> None:
    choose(coordinator, status_changed=Delivery.DIGEST)
    found = section(demo, "innovation")
    save_part(found, None, "<p>un</p>", base_revision=0, by=coordinator)
    found.status = SectionStatus.VALIDATED
    db.session.commit()
    other = make_member(demo, Role.COORDINATOR, email="coordination2@exemple.fr")

    save_part(found, None, "<p>un deux</p>", base_revision=1, by=other)
    db.session.commit()

    assert [m.kind for m in outbox()] == []
    [item] = digest_items(coordinator)
    assert item.kind is NotificationKind.STATUS_CHANGED
    assert "à relire" in item.text


def test_validating_a_partner_part_tells_its_writers_never_the_coordinator(
    demo: Consortium, coordinator: User, director: User
) -> None:
    found = section(demo)
    partner = partner_by_code(demo, "plie-sevran")
    assert partner is not None
    save_part(found, partner, "<p>Notre diagnostic.</p>", base_revision=0, by=director)
    db.session.commit()

    assert editing.set_status(found, partner.id, SectionStatus.VALIDATED, by=coordinator)
    db.session.commit()

    [message] = [m for m in outbox() if m.kind == "section_status_changed"]
    assert message.to == director.email
    assert "→ « Validé »" in message.text_body
    assert found.title in message.subject


def test_a_status_change_waits_for_the_digest_when_chosen(
    demo: Consortium, coordinator: User, director: User
) -> None:
    choose(director, status_changed=Delivery.DIGEST)
    found = section(demo)
    partner = partner_by_code(demo, "plie-sevran")
    assert partner is not None

    editing.set_status(found, partner.id, SectionStatus.IN_REVIEW, by=coordinator)
    db.session.commit()

    assert [m for m in outbox() if m.kind == "section_status_changed"] == []
    [item] = digest_items(director)
    assert item.kind is NotificationKind.STATUS_CHANGED


def test_notify_sends_sign_off_voided_to_the_digest_when_chosen(demo: Consortium, director: User) -> None:
    choose(director, sign_off_voided=Delivery.DIGEST)
    sevran = partner_by_code(demo, "plie-sevran")

    class Signed:
        at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
        by_email = "direction@plie-sevran.fr"

    services.notify(
        director,
        NotificationKind.SIGN_OFF_VOIDED,
        consortium=demo,
        subject="PLIE de Sevran : la signature des engagements est caduque",
        template="sign_off_voided",
        link="https://consortio.example/x",
        partner=sevran,
        by=director,
        signed=Signed(),
    )

    [item] = digest_items(director)
    assert "est caduque" in item.text
    assert "2 mars 2026 à 10:00" in item.text  # Paris time


def test_choosing_records_an_event_and_a_bad_value_changes_nothing(director: User) -> None:
    choose(director, mention=Delivery.DIGEST)
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "notifications.changed"))
    assert event.actor_id == director.id
    assert event.data["new"] == {"mention": "digest"}

    with pytest.raises(Invalid, match="Résumé quotidien"):
        services.set_preferences(director, {"mention": "jamais"}, by=director)
    db.session.rollback()
    assert services.preferences_of(director)[NotificationKind.MENTION] is Delivery.DIGEST
    assert db.session.scalar(
        select(NotificationPreference.id).where(NotificationPreference.kind == "comment")
    )


def test_nobody_chooses_for_someone_else(coordinator: User, director: User) -> None:
    with pytest.raises(NotAllowed):
        services.set_preferences(director, {k.value: "digest" for k in NotificationKind}, by=coordinator)


def test_the_digest_gathers_each_persons_items_by_consortium_in_one_email(
    demo: Consortium, coordinator: User, director: User
) -> None:
    other = make_consortium(slug="autre-consortium")
    other_coordinator = make_member(other, Role.COORDINATOR, "urtie-idf", email="coord-autre@exemple.fr")
    grant_role(director, other, Role.DIRECTOR, partner_by_code(other, "plie-sevran"))
    db.session.commit()
    choose(director, mention=Delivery.DIGEST)
    mention(demo, coordinator, director, "Premier point")
    mention(demo, coordinator, director, "Deuxième point")
    mention(other, other_coordinator, director, "Dans l'autre consortium")

    now = datetime.now(UTC) + timedelta(seconds=1)
    assert services.send_digests(now) == 1
    db.session.commit()

    [mail] = outbox()
    assert mail.to == director.email
    assert mail.kind == "digest"
    assert mail.subject == "Votre résumé Consortio : 3 notifications"
    text = mail.text_body
    assert text.count("==== Consortium") == 2
    assert text.index("Premier point") < text.index("Deuxième point")
    assert "Dans l'autre consortium" in text
    assert "/compte/notifications" in text
    assert all(item.sent_at is not None for item in digest_items(director))


def test_the_digest_is_never_sent_twice_the_same_paris_day(
    demo: Consortium, coordinator: User, director: User
) -> None:
    choose(director, mention=Delivery.DIGEST)
    mention(demo, coordinator, director, "Premier point")
    # 7:00 in Paris on a winter morning is 6:00 UTC.
    morning = datetime.now(UTC).replace(hour=6, minute=0, second=0, microsecond=0) + timedelta(days=1)

    assert services.send_digests(morning) == 1
    db.session.commit()
    assert services.send_digests(morning) == 0  # the same run again: nothing left to claim
    mention(demo, coordinator, director, "Arrivé dans la journée")
    assert services.send_digests(morning + timedelta(hours=10)) == 0  # waits until tomorrow
    db.session.commit()
    assert len(outbox()) == 1

    assert services.send_digests(morning + timedelta(days=1)) == 1
    db.session.commit()
    last = outbox()[-1]
    assert "Arrivé dans la journée" in last.text_body
    assert "Premier point" not in last.text_body


def test_an_item_claimed_by_another_run_is_not_sent_again(
    demo: Consortium, coordinator: User, director: User
) -> None:
    choose(director, mention=Delivery.DIGEST)
    mention(demo, coordinator, director)
    [item] = digest_items(director)
    # Another run claimed it (a day earlier, so the once-a-day rule does not hide what is tested).
    item.sent_at = datetime.now(UTC) - timedelta(days=2)
    db.session.commit()

    assert services.send_digest(director, datetime.now(UTC)) == 0
    assert outbox() == []
