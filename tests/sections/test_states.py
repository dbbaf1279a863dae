"""A part's state (empty, written, to review, validated): the same on every page that shows it."""

from __future__ import annotations

import html
import re

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from app.budget.services import consolidation_of
from app.consortia.models import Consortium, Partner, Role
from app.coordination import reminders
from app.dossier.document import build_dossier
from app.extensions import db
from app.sections.models import RevisionKind, Section, SectionPart, SectionStatus
from app.sections.services import append_revision
from app.sections.states import PART_STATE_LABELS, PartState, part_state, section_state
from tests.factories import login, make_consortium, make_member

# What each state shows, in French, wherever it is shown.
LABELS = {"empty": "À faire", "written": "En cours", "to_review": "À relire", "validated": "Validé"}
PER_PARTNER = "role_membre"  # one part per partner, every demo partner has written it (status « todo »)
SHARED = "resume"  # the shared summary, written (status « in_progress »)
SHARED_EMPTY = "innovation"  # a shared text nobody has written yet


def _text(source: str) -> str:
    source = re.sub(r"<(script|style|title)\b.*?</\1>", " ", source, flags=re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", source)).replace("\u202f", " ").split())


def _section(consortium: Consortium, code: str) -> Section:
    found = db.session.scalar(
        select(Section).where(Section.consortium_id == consortium.id, Section.code == code)
    )
    assert found is not None
    return found


def _part(section: Section, partner: Partner | None) -> SectionPart | None:
    return db.session.scalar(
        select(SectionPart).where(
            SectionPart.section_id == section.id,
            SectionPart.partner_id.is_(None) if partner is None else SectionPart.partner_id == partner.id,
        )
    )


@pytest.mark.parametrize(
    ("length", "status", "state"),
    [
        (0, SectionStatus.TODO, PartState.EMPTY),
        (0, SectionStatus.IN_PROGRESS, PartState.EMPTY),
        (12, SectionStatus.TODO, PartState.WRITTEN),
        (12, SectionStatus.IN_PROGRESS, PartState.WRITTEN),
        (0, SectionStatus.IN_REVIEW, PartState.TO_REVIEW),
        (12, SectionStatus.IN_REVIEW, PartState.TO_REVIEW),
        (0, SectionStatus.VALIDATED, PartState.VALIDATED),
        (12, SectionStatus.VALIDATED, PartState.VALIDATED),
    ],
)
def test_a_text_with_visible_characters_is_written_whatever_its_status_says(
    length: int, status: SectionStatus, state: PartState
) -> None:
    assert part_state(length, status) is state
    assert PART_STATE_LABELS[state] == LABELS[state.value]


@pytest.mark.parametrize(
    ("parts", "state"),
    [
        ((), PartState.EMPTY),
        ((PartState.EMPTY, PartState.EMPTY), PartState.EMPTY),
        ((PartState.EMPTY, PartState.WRITTEN), PartState.WRITTEN),
        ((PartState.EMPTY, PartState.VALIDATED), PartState.WRITTEN),
        ((PartState.TO_REVIEW, PartState.VALIDATED), PartState.TO_REVIEW),
        ((PartState.VALIDATED, PartState.VALIDATED), PartState.VALIDATED),
    ],
)
def test_a_chapter_is_validated_only_when_every_part_is(
    parts: tuple[PartState, ...], state: PartState
) -> None:
    assert section_state(parts) is state


@pytest.fixture
def world() -> tuple[Consortium, dict[tuple[str, str], str]]:
    """Six partners whose parts are in every state; the expected state of each (chapter, partner code)."""
    consortium = make_consortium(6)
    partners = list(consortium.partners)
    role = _section(consortium, PER_PARTNER)
    never, todo_written, in_progress, emptied, in_review, validated = partners

    part = _part(role, never)
    assert part is not None
    db.session.delete(part)  # never written: no part at all
    for partner, status in (
        (in_progress, SectionStatus.IN_PROGRESS),
        (emptied, SectionStatus.IN_PROGRESS),
        (in_review, SectionStatus.IN_REVIEW),
        (validated, SectionStatus.VALIDATED),
    ):
        stored = _part(role, partner)
        assert stored is not None
        stored.status = status
    # Text typed then wiped out: only an empty paragraph is left, which a reader does not see.
    append_revision(
        role, emptied.id, "<p><br></p>", kind=RevisionKind.EDIT, author_id=None, part=_part(role, emptied)
    )

    resume = _section(consortium, SHARED)
    resume.status = SectionStatus.TODO  # written, although its status was never moved
    resume.writer_partner_id = todo_written.id
    innovation = _section(consortium, SHARED_EMPTY)
    innovation.status = SectionStatus.IN_PROGRESS  # said to be under way, but nothing written yet
    innovation.writer_partner_id = in_progress.id
    db.session.commit()

    expected = {
        (PER_PARTNER, never.code): "empty",
        (PER_PARTNER, todo_written.code): "written",
        (PER_PARTNER, in_progress.code): "written",
        (PER_PARTNER, emptied.code): "empty",
        (PER_PARTNER, in_review.code): "to_review",
        (PER_PARTNER, validated.code): "validated",
        (SHARED, todo_written.code): "written",
        (SHARED_EMPTY, in_progress.code): "empty",
    }
    return consortium, expected


def _writing_page(client: FlaskClient, consortium: Consortium, code: str) -> dict[str, str]:
    """Each part's badge on the section page, by `commun` or partner code."""
    source = client.get(f"/consortia/{consortium.slug}/redaction/{code}").get_data(as_text=True)
    by_id = {f"membre-{p.id}": p.code for p in consortium.partners}
    shown = {}
    for key, header in re.findall(
        r'<section class="card mb-4 part" id="([^"]+)".*?<div class="card-header[^"]*">(.*?)</div>',
        source,
        re.S,
    ):
        badge = re.search(r'<span class="badge[^"]*"[^>]*>(.*?)</span>', header, re.S)
        assert badge is not None
        shown[by_id.get(key, key)] = _text(badge.group(1))
    return shown


def _board(client: FlaskClient, consortium: Consortium) -> dict[tuple[str, str], str]:
    """The state shown in each text cell of the board, by (chapter, partner code)."""
    source = client.get(f"/consortia/{consortium.slug}/suivi").get_data(as_text=True)
    shown = {}
    for code, row in re.findall(r'<tr data-partner="([^"]+)">(.*?)</tr>', source, re.S):
        for column, cell in re.findall(
            r'<td [^>]*data-column="(?:part|shared):([^"]+)"[^>]*>(.*?)</td>', row, re.S
        ):
            text = _text(cell).lstrip("✗◔◑✓⚠ ")
            if text != "— Non concerné":
                shown[(column, code)] = text
    return shown


def _todo(client: FlaskClient, consortium: Consortium, partner: Partner) -> dict[str, str]:
    """The texts in a partner's own to-do on the overview, by their label, with the state shown."""
    director = make_member(
        consortium, Role.DIRECTOR, partner.code, email=f"direction-{partner.code}@exemple.fr"
    )
    own = client.application.test_client()
    login(own, director.email)
    source = own.get(f"/consortia/{consortium.slug}").get_data(as_text=True)
    assert "mes-taches" in source
    shown = {}
    for item in re.findall(r'<li [^>]*data-kind="(?:partner|shared)_text"[^>]*>(.*?)</li>', source, re.S):
        label = _text(re.search(r"<a [^>]*>(.*?)</a>", item, re.S).group(1))  # type: ignore[union-attr]
        state = _text(re.search(r'owed-state"[^>]*>(.*?)</span>\s*$', item.strip(), re.S).group(1))  # type: ignore[union-attr]
        shown[label] = state.lstrip("✗◔◑✓⚠ ")
    return shown


def _dossier_states(consortium: Consortium, titles: dict[str, str]) -> dict[tuple[str, str], str]:
    """What « État du dossier » says of each part not validated, by (chapter, partner code)."""
    names = {p.name: p.code for p in consortium.partners}
    lines = [
        line.replace("\u202f", " ").replace("\u00a0", " ")
        for line in build_dossier(consortium).sections_not_validated
    ]
    shown: dict[tuple[str, str], str] = {}
    for code, title in titles.items():
        [line] = [line for line in lines if line.startswith(f"« {title} »")]
        for piece in line.removeprefix(f"« {title} » : ").removesuffix(".").split(" ; "):
            if piece.startswith("texte commun "):
                shown[(code, "commun")] = piece.removeprefix("texte commun ")
                continue
            match = re.fullmatch(r"parties (.+?) : (.+)", piece)
            assert match is not None, piece
            for name in match.group(2).split(", "):
                shown[(code, names[name])] = match.group(1)
    return shown


def _item(code: str, titles: dict[str, str]) -> str:
    """How a partner's to-do and reminders name a text it owes."""
    if code == PER_PARTNER:
        return f"Texte « {titles[code]} »"
    return f"Texte commun « {titles[code]} » (rédaction principale)"


def test_every_page_shows_the_same_state_for_the_same_part(
    client: FlaskClient, world: tuple[Consortium, dict[tuple[str, str], str]]
) -> None:
    consortium, expected = world
    coordinator = make_member(consortium, Role.COORDINATOR, "urtie-idf", email="coordination@exemple.fr")
    login(client, coordinator.email)
    titles = {code: _section(consortium, code).title for code in (PER_PARTNER, SHARED, SHARED_EMPTY)}

    # The section pages: one badge per part.
    role_page = _writing_page(client, consortium, PER_PARTNER)
    for (code, partner), state in expected.items():
        if code == PER_PARTNER:
            assert role_page[partner] == LABELS[state], partner
    assert _writing_page(client, consortium, SHARED)["commun"] == LABELS["written"]
    assert _writing_page(client, consortium, SHARED_EMPTY)["commun"] == LABELS["empty"]

    # The writing summary counts as written every part in a state other than empty.
    summary = _text(client.get(f"/consortia/{consortium.slug}/redaction").get_data(as_text=True))
    written = sum(1 for (code, _p), state in expected.items() if code == PER_PARTNER and state != "empty")
    assert f"membres : {written} / 6 rédigées" in summary
    resume_row = summary.split(titles[SHARED], 1)[1]
    assert resume_row.split()[0:2] == LABELS["written"].split()

    # The coordination board.
    board = _board(client, consortium)
    for key, state in expected.items():
        assert board[key] == LABELS[state], key

    # Each partner's own to-do: what is not validated, with the same state.
    for partner in consortium.partners:
        todo = _todo(client, consortium, partner)
        for (code, who), state in expected.items():
            if who != partner.code:
                continue
            label = _item(code, titles)
            if state == "validated":
                assert label not in todo
            else:
                assert todo[label] == LABELS[state], (partner.code, code)

    # The reminders' e-mails list the same items in the same states.
    messages = {m.partner.code: m for m in reminders.plan(consortium, reminders.ALL, by=coordinator)}
    for (code, who), state in expected.items():
        body = messages[who].text_body if who in messages else ""
        label = _item(code, titles)
        if state == "validated":
            assert f"- {label} :" not in body
        else:
            assert f"- {label} : {LABELS[state].lower()}" in body, (who, code)

    # « État du dossier »: the texts not validated, each part in its state.
    dossier = _dossier_states(consortium, titles)
    for (code, who), state in expected.items():
        key = (code, "commun") if code != PER_PARTNER else (code, who)
        if state == "validated":
            assert key not in dossier
        else:
            assert dossier[key] == LABELS[state].lower(), key


def test_the_checks_say_a_shared_text_is_not_started_only_while_it_has_no_text() -> None:
    consortium = make_consortium(2)
    _section(consortium, SHARED).status = SectionStatus.TODO  # written, status never moved
    _section(consortium, SHARED_EMPTY).status = SectionStatus.IN_PROGRESS  # said under way, still empty
    db.session.commit()

    warnings = [finding.message for finding in consolidation_of(consortium).consolidation.warnings]

    not_started = [message for message in warnings if "n'est pas encore commencé" in message]
    assert not any(f"« {_section(consortium, SHARED).title} »" in message for message in not_started)
    assert any(f"« {_section(consortium, SHARED_EMPTY).title} »" in message for message in not_started)
