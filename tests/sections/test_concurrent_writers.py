"""No lost update under load: 20 writers × 25 saves on one section, through real HTTP.

A live threaded server serves the test application (SQLite or PostgreSQL, like the rest of the
suite). Each writer keeps its own copy of the text, edits its own paragraph most of the time
(saves from a stale base that must merge) and sometimes the paragraph everyone edits (saves
that must become conflict copies). Every save must end applied, merged or kept: one revision per
save, no error, no "database is locked", and the last words of every writer in the final text.
"""

from __future__ import annotations

import os
import random
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import requests
from flask import Flask
from sqlalchemy import func, select
from werkzeug.serving import make_server

from app.auth.services import create_token
from app.consortia.models import Role
from app.extensions import db
from app.sections.models import RevisionKind, Section, SectionRevision
from app.sections.saving import find_part, save_part
from tests.factories import make_consortium, make_member

WRITERS = int(os.environ.get("WRITERS", "20"))
SAVES = 25
HOT_SHARE = 0.12  # how often a writer edits the paragraph everyone edits


@pytest.fixture
def server(app: Flask) -> Iterator[str]:
    """The test application served by threads on a random port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="concurrent-writers", daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def paragraphs(lines: list[str]) -> str:
    return "".join(f"<p>{line}</p>" for line in lines)


def split(content: str) -> list[str]:
    return re.findall(r"<p>(.*?)</p>", content)


@dataclass
class Writer:
    number: int
    token: str
    statuses: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    merged: int = 0
    conflicts: list[tuple[int, str]] = field(default_factory=list)  # (copy revision, text sent)
    last_own: str | None = None  # the last text of its own paragraph that the server accepted


def write(url: str, writer: Writer, content: str, revision: int, start: threading.Barrier) -> None:
    rng = random.Random(writer.number)
    http = requests.Session()
    http.headers["Authorization"] = f"Bearer {writer.token}"
    start.wait()
    for save in range(SAVES):
        lines = split(content)
        hot = rng.random() < HOT_SHARE
        index = 0 if hot else writer.number + 1
        lines[index] = f"rédacteur {writer.number} — enregistrement {save} ✍️ {'chaud' if hot else 'sien'}"
        sent = paragraphs(lines)
        response = http.put(url, json={"content": sent, "base_revision": revision}, timeout=60)
        writer.statuses.append(response.status_code)
        if response.status_code >= 500 or "locked" in response.text:
            writer.errors.append(response.text)
            continue
        body: dict[str, Any] = response.json()
        if response.status_code == 200:
            writer.merged += body["merged"]
            content, revision = body["content"], body["revision"]
            if not hot:
                writer.last_own = lines[index]
        elif response.status_code == 409:
            writer.conflicts.append((body["conflict_copy_revision"], sent))
            # "Keep theirs": carry on from the current text.
            content, revision = body["current_content"], body["current_revision"]
        else:
            writer.errors.append(f"{response.status_code} {response.text}")
        time.sleep(rng.random() * 0.005)


def test_twenty_writers_saving_at_once_lose_nothing(app: Flask, server: str) -> None:
    consortium = make_consortium()
    coordinators = [
        make_member(consortium, Role.COORDINATOR, email=f"redacteur{number}@exemple.fr")
        for number in range(WRITERS)
    ]
    section = db.session.scalar(
        select(Section).where(Section.consortium_id == consortium.id, Section.code == "innovation")
    )
    assert section is not None
    initial = paragraphs(["paragraphe commun"] + [f"paragraphe du rédacteur {n}" for n in range(WRITERS)])
    save_part(section, None, initial, base_revision=0, by=coordinators[0])
    writers = [Writer(number, create_token(user)) for number, user in enumerate(coordinators)]
    url = f"{server}/api/v1/consortia/{consortium.slug}/sections/innovation"
    db.session.commit()
    # Touching an expired object now would open a transaction, which on SQLite outside a request
    # takes the write lock: the test keeps its hands off the database until the writers finish.
    start = threading.Barrier(WRITERS)
    threads = [
        threading.Thread(
            target=write, args=(url, writer, initial, 1, start), name=f"redacteur-{writer.number}"
        )
        for writer in writers
    ]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    elapsed = time.monotonic() - began

    assert not any(thread.is_alive() for thread in threads)
    assert [error for writer in writers for error in writer.errors] == []
    statuses = [status for writer in writers for status in writer.statuses]
    assert len(statuses) == WRITERS * SAVES
    assert set(statuses) <= {200, 409}

    db.session.expire_all()
    part = find_part(section, None)
    assert part is not None
    rows = list(
        db.session.scalars(
            select(SectionRevision).where(SectionRevision.part_id == part.id).order_by(SectionRevision.number)
        )
    )
    # Every save is one revision (applied, merged or conflict copy), plus the initial one.
    assert len(rows) == WRITERS * SAVES + 1
    assert [row.number for row in rows] == list(range(1, WRITERS * SAVES + 2))
    assert part.version == WRITERS * SAVES + 1
    copies = {row.number: row for row in rows if row.kind is RevisionKind.CONFLICT_COPY}
    kept = [conflict for writer in writers for conflict in writer.conflicts]
    assert len(copies) == len(kept) == statuses.count(409)
    for number, sent in kept:
        assert copies[number].content == sent  # the losing text is kept, word for word
    assert WRITERS == 1 or sum(writer.merged for writer in writers) > 0
    assert db.session.scalar(
        select(func.count(SectionRevision.id)).where(
            SectionRevision.part_id == part.id, SectionRevision.kind == RevisionKind.MERGE
        )
    ) == sum(writer.merged for writer in writers)

    # No lost update: every writer's last accepted words are in the final text.
    assert part.head_revision is not None
    final = split(part.head_revision.content)
    for writer in writers:
        if writer.last_own is not None:
            assert final[writer.number + 1] == writer.last_own
    print(
        f"\n{WRITERS * SAVES} enregistrements en {elapsed:.1f} s : {statuses.count(409)} copies en conflit, "
        f"{sum(w.merged for w in writers)} fusions"
    )
