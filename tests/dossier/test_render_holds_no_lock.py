"""A dossier render holds no database lock: while `flask export-dossier` renders, others write."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import text

from app.dossier import rendering
from app.dossier.pdf import RenderedPdf
from app.extensions import db
from tests.factories import make_consortium


def test_an_autosave_during_a_command_line_export_does_not_wait(
    app: Flask, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    consortium = make_consortium(3)
    consortium_id, slug = consortium.id, consortium.slug
    real_render = rendering.render_pdf
    seen: dict[str, Any] = {}

    def render_while_someone_writes(html: str) -> RenderedPdf:
        # Another process writes while the dossier renders; it must not find the database locked.
        seen["in_transaction"] = db.session().in_transaction()
        url = db.engine.url
        if url.get_backend_name() == "sqlite":
            other = sqlite3.connect(str(url.database), timeout=0.5)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("UPDATE consortia SET title = title WHERE id = ?", (consortium_id,))
                other.commit()
                seen["wrote"] = True
            finally:
                other.close()
        else:
            with db.engine.connect() as other:
                other.execute(text("SET lock_timeout = '500ms'"))
                other.execute(
                    text("UPDATE consortia SET title = title WHERE id = :id"), {"id": consortium_id}
                )
                other.commit()
                seen["wrote"] = True
        return real_render(html)

    monkeypatch.setattr(rendering, "render_pdf", render_while_someone_writes)
    output = tmp_path / "dossier.pdf"

    result = app.test_cli_runner().invoke(args=["export-dossier", slug, "-o", str(output)])

    assert result.exit_code == 0, result.output
    assert seen == {"in_transaction": False, "wrote": True}
    assert output.read_bytes().startswith(b"%PDF")
