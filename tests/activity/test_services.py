"""The activity feed (app.activity.services): who sees what, filters, and how events read in French."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from flask import current_app
from sqlalchemy import select

from app.activity import services
from app.activity.labels import label_of
from app.audit import AuditEvent, record_event
from app.auth.models import User
from app.consortia.models import Consortium, Partner, Role, RoleGrant
from app.consortia.services import partner_by_code
from app.errors import NotAllowed
from app.extensions import db
from app.members import services as members
from app.members import withdrawal
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


def partner(demo: Consortium, code: str) -> Partner:
    found = partner_by_code(demo, code)
    assert found is not None
    return found


def event(
    demo: Consortium, kind: str, *, by: User | None, at: datetime, partner: Partner | None = None, **data: Any
) -> None:
    record_event(
        kind,
        actor_id=by.id if by else None,
        consortium_id=demo.id,
        partner_id=partner.id if partner else None,
        **data,
    )
    db.session.flush()
    row = db.session.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert row is not None
    row.at = at
    db.session.commit()


def clear_events() -> None:
    for row in db.session.scalars(select(AuditEvent)):
        db.session.delete(row)
    db.session.commit()


def kinds(page: services.FeedPage) -> list[str]:
    return [entry.kind for entry in page.entries]


def feed(demo: Consortium, user: User, **args: str) -> tuple[services.FeedPage, list[str]]:
    # The feed links to pages: it is built for a request.
    with current_app.test_request_context():
        scope = services.feed_scope(user, demo)
        filters, errors = services.parse_filters(demo, args, scope=scope)
        return services.feed(demo, filters, scope=scope), errors


def test_the_coordinator_sees_every_event_newest_first(
    demo: Consortium, coordinator: User, director: User
) -> None:
    clear_events()
    sevran, aulnay = partner(demo, "plie-sevran"), partner(demo, "mde-aulnay")
    event(demo, "partner.withdrawn", by=coordinator, at=datetime(2026, 3, 1, 9, tzinfo=UTC), partner=aulnay)
    event(demo, "budget.signed_off", by=director, at=datetime(2026, 3, 2, 9, tzinfo=UTC), partner=sevran)
    event(demo, "consortium.settings_changed", by=coordinator, at=datetime(2026, 3, 3, 9, tzinfo=UTC))

    page, errors = feed(demo, coordinator)

    assert errors == []
    assert kinds(page) == ["consortium.settings_changed", "budget.signed_off", "partner.withdrawn"]
    assert page.entries[1].actor == director.name
    assert page.entries[1].partner == sevran.name
    assert page.entries[1].label == "Engagements signés par la direction"


def test_a_partner_sees_only_its_own_events(demo: Consortium, coordinator: User, director: User) -> None:
    clear_events()
    sevran, aulnay = partner(demo, "plie-sevran"), partner(demo, "mde-aulnay")
    event(demo, "budget.signed_off", by=director, at=datetime(2026, 3, 2, 9, tzinfo=UTC), partner=sevran)
    event(demo, "budget.signed_off", by=coordinator, at=datetime(2026, 3, 2, 10, tzinfo=UTC), partner=aulnay)
    event(demo, "consortium.settings_changed", by=coordinator, at=datetime(2026, 3, 3, 9, tzinfo=UTC))

    page, _errors = feed(demo, director, membre="mde-aulnay")  # asking for another partner changes nothing

    assert [entry.partner for entry in page.entries] == [sevran.name]
    assert [user.id for user in services.people_choices(demo, sevran.id)] == [director.id]


def test_readers_have_no_activity_feed(demo: Consortium) -> None:
    reader = make_member(demo, Role.READER, email="lecture@exemple.fr")
    with pytest.raises(NotAllowed, match="journal d'activité"):
        services.feed_scope(reader, demo)


def test_filters_by_partner_person_and_kind_group(
    demo: Consortium, coordinator: User, director: User
) -> None:
    clear_events()
    sevran = partner(demo, "plie-sevran")
    at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    event(
        demo,
        "budget.amount_changed",
        by=director,
        at=at,
        partner=sevran,
        side="expense",
        code="personnel",
        year=2026,
        old={"amount": "1000.00"},
        new={"amount": "1234.50"},
    )
    event(
        demo,
        "section.edit",
        by=director,
        at=at,
        partner=sevran,
        section="diagnostic",
        old_chars=0,
        new_chars=1200,
    )
    event(demo, "section.edit", by=coordinator, at=at, section="resume", old_chars=10, new_chars=20)
    event(
        demo,
        "role.changed",
        by=coordinator,
        at=at,
        partner=sevran,
        user="x@exemple.fr",
        old="contributor",
        new="director",
    )

    assert kinds(feed(demo, coordinator, membre="plie-sevran")[0]) == [
        "role.changed",
        "section.edit",
        "budget.amount_changed",
    ]
    assert kinds(feed(demo, coordinator, personne=str(coordinator.id))[0]) == ["role.changed", "section.edit"]
    assert kinds(feed(demo, coordinator, type="chiffres")[0]) == ["budget.amount_changed"]
    assert kinds(feed(demo, coordinator, type="roles")[0]) == ["role.changed"]
    both = feed(demo, coordinator, type="textes", membre="plie-sevran", personne=str(director.id))[0]
    assert [entry.subject for entry in both.entries] == ["Contexte et diagnostic territorial"]


def test_the_period_is_read_in_paris_time(demo: Consortium, coordinator: User) -> None:
    clear_events()
    # 23:30 UTC on 14 March is 00:30 on 15 March in Paris.
    event(demo, "consortium.settings_changed", by=coordinator, at=datetime(2026, 3, 14, 23, 30, tzinfo=UTC))
    # 22:30 UTC on 28 June is 00:30 on 29 June in Paris (summer time).
    event(demo, "consortium.exported", by=coordinator, at=datetime(2026, 6, 28, 22, 30, tzinfo=UTC))

    assert kinds(feed(demo, coordinator, du="2026-03-15", au="2026-03-15")[0]) == [
        "consortium.settings_changed"
    ]
    assert kinds(feed(demo, coordinator, au="2026-03-14")[0]) == []
    assert kinds(feed(demo, coordinator, du="2026-06-29")[0]) == ["consortium.exported"]
    assert kinds(feed(demo, coordinator, du="15/03/2026", au="28/06/2026")[0]) == [
        "consortium.settings_changed"
    ]


def test_bad_filters_are_explained_in_french_and_ignored(demo: Consortium, coordinator: User) -> None:
    _page, errors = feed(demo, coordinator, du="2026-02-30", type="tout", membre="inconnu", personne="abc")
    assert len(errors) == 4
    assert any("date de début n'est pas une date valide" in error for error in errors)
    assert any("membre ne fait pas partie" in error for error in errors)
    _page, errors = feed(demo, coordinator, du="2026-03-10", au="2026-03-01")
    assert errors == ["La période est inversée : la date de fin précède la date de début. Elle est ignorée."]


def test_events_read_in_french_with_old_and_new_values(demo: Consortium, coordinator: User) -> None:
    clear_events()
    sevran = partner(demo, "plie-sevran")
    at = datetime(2026, 3, 2, 9, tzinfo=UTC)
    event(
        demo,
        "budget.amount_changed",
        by=coordinator,
        at=at,
        partner=sevran,
        side="expense",
        code="personnel",
        year=2026,
        old={"amount": "1000.00"},
        new={"amount": "1234.50"},
    )
    event(
        demo,
        "section.status_changed",
        by=coordinator,
        at=at,
        section="diagnostic",
        old="in_review",
        new="validated",
    )
    event(demo, "volunteering.intro_changed", by=coordinator, at=at, old="court", new="x" * 300)
    event(demo, "something.new", by=None, at=at, old="a", new="b")

    entries = {entry.kind: entry for entry in feed(demo, coordinator)[0].entries}

    amount = entries["budget.amount_changed"]
    assert amount.subject.startswith("Dépense · ")
    assert [(c.what, c.old, c.new) for c in amount.changes] == [
        ("Montant", "1\u202f000,00\u00a0€", "1\u202f234,50\u00a0€")
    ]
    assert amount.link == f"/consortia/{demo.slug}/membres/plie-sevran/budget"
    status = entries["section.status_changed"]
    assert [(c.old, c.new) for c in status.changes] == [("À relire", "Validé")]
    assert status.link == f"/consortia/{demo.slug}/redaction/diagnostic"
    intro = entries["volunteering.intro_changed"]
    # A long text is not repeated in the feed: its length says what happened.
    assert [(c.old, c.new) for c in intro.changes] == [("5 caractères", "300 caractères")]
    unknown = entries["something.new"]
    assert unknown.label == "Autre action (something.new)"
    assert unknown.actor == "Consortio (automatique)"
    assert [(c.old, c.new) for c in unknown.changes] == [("a", "b")]


def test_every_kind_recorded_by_the_application_has_a_label() -> None:
    for kind in (
        "section.edit",
        "budget.sign_off_voided",
        "role.granted",
        "dossier.frozen",
        "annex.uploaded",
        "milestone.added",
        "reminder.sent",
        "invitation.accepted",
        "consortium.imported",
    ):
        assert not label_of(kind).startswith("Autre action")


def test_partner_events_of_the_application_carry_the_partner(
    demo: Consortium, coordinator: User, director: User
) -> None:
    aulnay = partner(demo, "mde-aulnay")
    contributor = make_member(demo, Role.CONTRIBUTOR, "plie-sevran", email="contrib@exemple.fr")
    grant = db.session.scalar(select(RoleGrant).where(RoleGrant.user_id == contributor.id))
    assert grant is not None
    members.change_role(grant, Role.DIRECTOR, by=director)
    withdrawal.withdraw_partner(aulnay, by=coordinator, reason="Fusion avec un autre PLIE")
    db.session.commit()

    page = feed(demo, coordinator, membre="mde-aulnay")[0]
    assert "partner.withdrawn" in kinds(page)
    withdrawn = next(e for e in page.entries if e.kind == "partner.withdrawn")
    assert withdrawn.note == "Raison : « Fusion avec un autre PLIE »"
    sevran_page = feed(demo, director)[0]
    assert "role.changed" in kinds(sevran_page)
    assert "partner.withdrawn" not in kinds(sevran_page)


def test_the_feed_is_paginated(demo: Consortium, coordinator: User) -> None:
    clear_events()
    for minute in range(services.PER_PAGE + 5):
        record_event(
            "section.edit",
            actor_id=coordinator.id,
            consortium_id=demo.id,
            section="resume",
            old_chars=minute,
            new_chars=minute + 1,
        )
    db.session.commit()
    with current_app.test_request_context():
        first = services.feed(demo, services.FeedFilters(), scope=None, page=1)
        second = services.feed(demo, services.FeedFilters(), scope=None, page=2)
        last = services.feed(demo, services.FeedFilters(), scope=None, page=99)
    assert (first.total, first.pages, len(first.entries), len(second.entries)) == (55, 2, 50, 5)
    assert {e.id for e in first.entries}.isdisjoint({e.id for e in second.entries})
    assert last.page == 2


def test_another_consortiums_events_never_show(demo: Consortium, coordinator: User) -> None:
    other = make_consortium(slug="autre")
    clear_events()
    record_event("consortium.settings_changed", actor_id=None, consortium_id=other.id)
    db.session.commit()
    assert feed(demo, coordinator)[0].total == 0
