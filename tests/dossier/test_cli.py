"""`flask --app wsgi export-dossier SLUG -o FILE.pdf [--final]`."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from click.testing import Result
from flask import Flask
from pypdf import PdfReader
from sqlalchemy import select

from app.audit import AuditEvent
from app.extensions import db
from tests.dossier.test_rendering import FAKE_PDF, fake_renderer, unbalance
from tests.factories import make_consortium


def run(app: Flask, *args: str) -> Result:
    return app.test_cli_runner().invoke(args=list(args))


def test_export_dossier_writes_the_draft_pdf(app: Flask, tmp_path: Path) -> None:
    consortium = make_consortium(3)
    target = tmp_path / "dossier.pdf"
    result = run(app, "export-dossier", consortium.slug, "-o", str(target))
    assert result.exit_code == 0, result.output
    assert "Dossier brouillon écrit dans" in result.output
    reader = PdfReader(io.BytesIO(target.read_bytes()))
    assert f"({len(reader.pages)} pages" in result.output
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert consortium.title.split()[0] in text
    assert not list(tmp_path.glob("*.partiel"))
    db.session.expire_all()
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "dossier.exported")).one()
    assert event.data["format"] == "pdf"
    assert event.data["via"] == "cli"


def test_final_is_refused_with_the_errors_on_stderr_and_no_file(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = fake_renderer(monkeypatch)
    consortium = make_consortium(3)
    unbalance(consortium)
    target = tmp_path / "final.pdf"
    result = run(app, "export-dossier", consortium.slug, "-o", str(target), "--final")
    assert result.exit_code == 1
    assert "dossier final refusé tant que le consortium a des erreurs" in result.stderr
    assert "  - " in result.stderr
    assert not target.exists()
    assert seen == []


def test_final_without_errors_is_written(app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seen = fake_renderer(monkeypatch)
    consortium = make_consortium(3)
    target = tmp_path / "final.pdf"
    result = run(app, "export-dossier", consortium.slug, "--output", str(target), "--final")
    assert result.exit_code == 0, result.output
    assert "Dossier final écrit" in result.output
    assert target.read_bytes().startswith(FAKE_PDF)
    assert "BROUILLON" not in seen[0]


def test_unknown_consortium_exits_with_an_error(app: Flask, tmp_path: Path) -> None:
    result = run(app, "export-dossier", "inconnu", "-o", str(tmp_path / "x.pdf"))
    assert result.exit_code == 1
    assert "n'existe pas" in result.stderr
    assert not (tmp_path / "x.pdf").exists()
