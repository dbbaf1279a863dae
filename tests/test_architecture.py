"""Imports point one way (architecture: auth ← consortia ← sections, budget ← opening, exchange ← dossier).

Each feature package sits on a layer and imports only features of lower layers; features of one layer
do not import each other. A new package must be given its place here. Top-level modules of `app/` are
shared infrastructure: they import no feature, except the few listed.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

APP = Path(__file__).resolve().parents[1] / "app"

LAYERS: list[set[str]] = [
    {"auth"},
    {"consortia"},
    {"mail"},
    {"notifications"},
    {"sections"},
    {"budget"},  # its checks count the chapters' texts
    {"members", "invitations", "opening", "exchange"},
    {"volunteering", "commitments", "annexes"},
    {"coordination", "activity", "overview", "api"},
    {"dossier"},
]
RANK = {feature: rank for rank, layer in enumerate(LAYERS) for feature in layer}
# Top-level modules that may reach into features: the application's assembly, and what each needs.
TOP_LEVEL_ALLOWED = {
    "__init__": set(RANK),  # registers every blueprint
    "models": set(RANK),  # registers every model on the metadata
    "cli": {"auth", "consortia", "exchange"},
    "security": {"auth"},  # sessions and tokens of accounts
    "permissions": {"auth", "consortia", "sections"},  # the one place for access rules: reads their models
    "form_fields": {"consortia"},  # shows the field refusals of consortia.validation
    "content_version": {"consortia"},  # moves and reads the consortium's content version
    "templating": {"consortia"},  # the tabs of a consortium's pages (a type only)
}


def imported_features(path: Path) -> set[str]:
    """The feature packages a module imports, wherever the import statement is (functions included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] if node.module != "app" else [f"app.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "app" and len(parts) > 1 and (APP / parts[1]).is_dir():
                found.add(parts[1])
    return found


FEATURES = sorted(path.name for path in APP.iterdir() if path.is_dir() and (path / "__init__.py").exists())


def test_every_feature_package_has_its_layer() -> None:
    assert set(FEATURES) == set(RANK)


@pytest.mark.parametrize("feature", FEATURES)
def test_a_feature_imports_only_features_below_it(feature: str) -> None:
    wrong = sorted(
        f"{path.relative_to(APP)} imports {target}"
        for path in (APP / feature).rglob("*.py")
        for target in imported_features(path) - {feature}
        if RANK[target] >= RANK[feature]
    )
    assert wrong == []


def test_consortia_imports_neither_budget_sections_nor_opening() -> None:
    for path in (APP / "consortia").rglob("*.py"):
        assert not imported_features(path) & {"budget", "sections", "opening"}, path


def test_top_level_modules_import_only_the_features_they_are_allowed() -> None:
    wrong = sorted(
        f"{path.name} imports {sorted(extra)}"
        for path in APP.glob("*.py")
        if (extra := imported_features(path) - TOP_LEVEL_ALLOWED.get(path.stem, set()))
    )
    assert wrong == []
