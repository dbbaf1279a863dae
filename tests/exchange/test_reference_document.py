"""Conformance with the reference exchange document published beside the project, when it is there.

Every other test builds on the project's own document (`tests.factories.DEMO_DOCUMENT`). This one
checks that the reference example of format v1 is read, imported and exported back byte for byte.
It runs when the document exists (`CONSORTIO_REFERENCE_DOCUMENT`, by default
`../shared/domain/demo-consortium.json` beside the checkout); `REQUIRE_REFERENCE_DOCUMENT=1` (CI)
makes its absence a failure instead of a skip.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path

import pytest

from app.exchange.exporter import export_document
from app.exchange.importer import import_document
from app.exchange.serialisation import dumps
from app.exchange.validation import load_document
from app.extensions import db

DEFAULT_LOCATION = Path(__file__).resolve().parents[3] / "shared" / "domain" / "demo-consortium.json"


def reference_document() -> Path:
    """The reference document, or a skip (a failure when it is required)."""
    path = Path(os.environ.get("CONSORTIO_REFERENCE_DOCUMENT") or DEFAULT_LOCATION)
    if not path.is_file():
        message = f"document de référence absent : {path}"
        if os.environ.get("REQUIRE_REFERENCE_DOCUMENT") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


def test_the_reference_document_imports_and_exports_back_byte_for_byte() -> None:
    source = reference_document().read_text(encoding="utf-8")

    consortium = import_document(load_document(source))
    db.session.commit()
    exported = dumps(
        export_document(consortium, at=datetime.fromisoformat(json.loads(source)["exported_at"]))
    )

    assert exported == source
