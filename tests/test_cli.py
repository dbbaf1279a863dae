"""The `flask` commands: import and export of consortia, accounts, roles, tokens and the demo."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.audit import AuditEvent
from app.auth.models import User
from app.consortia.models import Consortium, Role, RoleGrant
from app.extensions import db
from app.templating import paris_today
from tests.factories import DEMO_DOCUMENT, demo_data, login, make_consortium, make_member, make_user

SLUG = "cap-remob-idf"
STRONG_PASSWORD = "un-mot-de-passe-solide"


def run(app: Flask, *args: str, input: str | None = None) -> Result:
    """Run a command as `flask --app wsgi <args>` would, against the test database."""
    return app.test_cli_runner().invoke(args=list(args), input=input)


def write(tmp_path: Path, data: dict[str, Any] | str, name: str = "consortium.json") -> str:
    path = tmp_path / name
    text = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False, indent=2)
    path.write_text(text, encoding="utf-8")
    return str(path)


def database_content() -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, to prove a refused command changed nothing at all."""
    content = {}
    for table in db.metadata.sorted_tables:
        rows = db.session.execute(select(table)).all()
        content[table.name] = sorted((tuple(row) for row in rows), key=repr)
    return content


def count(model: type[Any]) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def grants() -> set[tuple[str, str, str | None]]:
    """(e-mail, role, partner code) of every role held in the demo consortium."""
    rows = db.session.scalars(
        select(RoleGrant).join(Consortium).where(Consortium.slug == SLUG).order_by(RoleGrant.id)
    )
    return {(g.user.email, g.role.value, g.partner.code if g.partner else None) for g in rows}


def without_exported_at(text: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(text)
    data.pop("exported_at")
    return data


# --- help ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "command",
    [
        ["import-consortium"],
        ["export-consortium"],
        ["create-user"],
        ["grant"],
        ["create-token"],
        ["seed-demo"],
        ["is-empty"],
        ["db", "upgrade"],
    ],
    ids=lambda command: " ".join(command),
)
def test_every_command_explains_itself_with_help(app: Flask, command: list[str]) -> None:
    result = run(app, *command, "--help")

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Usage: ")
    assert " ".join(command) in result.stdout.splitlines()[0]


def test_every_documented_command_is_registered(app: Flask) -> None:
    ours = {"import-consortium", "export-consortium", "create-user", "grant", "create-token"}
    ours |= {"seed-demo", "is-empty"}
    assert ours <= set(app.cli.commands)


# --- import-consortium --------------------------------------------------------------------------


def test_import_prints_the_slug_and_the_consortium_exports_back_as_the_file(
    app: Flask, tmp_path: Path
) -> None:
    imported = run(app, "import-consortium", str(DEMO_DOCUMENT))
    exported = run(app, "export-consortium", SLUG)

    assert imported.exit_code == 0, imported.output
    assert imported.stdout == f"{SLUG}\n"
    assert exported.exit_code == 0, exported.output
    assert without_exported_at(exported.stdout) == without_exported_at(DEMO_DOCUMENT.read_text("utf-8"))


def test_export_to_a_file_then_replacing_import_then_export_gives_the_same_file(
    app: Flask, tmp_path: Path
) -> None:
    run(app, "import-consortium", str(DEMO_DOCUMENT))
    first, second = tmp_path / "first.json", tmp_path / "second.json"

    assert run(app, "export-consortium", SLUG, "-o", str(first)).exit_code == 0
    replaced = run(app, "import-consortium", str(first), "--replace")
    assert run(app, "export-consortium", SLUG, "--output", str(second)).exit_code == 0

    assert replaced.exit_code == 0, replaced.output
    assert without_exported_at(second.read_text("utf-8")) == without_exported_at(first.read_text("utf-8"))
    assert count(Consortium) == 1


def broken_document(slug: str) -> str:
    """The demo with one of each breach: unknown keys, a negative amount, an ambiguous number, a bad SIRET."""
    data = demo_data(slug=slug)
    data["call"]["colour"] = "bleu"
    data["partners"][3]["budjet"] = {}
    data["partners"][3]["budget"]["2020"]["expenses"]["personnel"] = "-5.00"
    data["partners"][6]["budget"]["2021"]["resources"]["fse"] = "__AMBIGUOUS__"
    data["partners"][2]["siret"] = "12345678901234"
    data["consortium"]["title"] = "Ne doit jamais être enregistré"
    text = json.dumps(data, ensure_ascii=False, indent=2)
    return text.replace('"__AMBIGUOUS__"', "1.005")


BROKEN_PATHS = [
    "call.colour: ",
    "partners[3].budjet: ",
    "partners[3].budget.2020.expenses.personnel: ",
    "partners[6].budget.2021.resources.fse: ",
    "partners[2].siret: ",
]


@pytest.fixture
def populated(app: Flask) -> dict[str, list[tuple[Any, ...]]]:
    """The demo with people in it; returns the whole database content."""
    consortium = make_consortium()
    make_member(consortium, Role.COORDINATOR, "urtie-idf")
    make_member(consortium, Role.DIRECTOR, "plie-sevran")
    return database_content()


@pytest.mark.parametrize("replace", [False, True], ids=["new", "replace"])
def test_document_with_errors_lists_every_error_with_its_path_and_changes_nothing(
    app: Flask, tmp_path: Path, populated: dict[str, Any], replace: bool
) -> None:
    text = broken_document(SLUG if replace else "nouveau")
    args = ["import-consortium", write(tmp_path, text)] + (["--replace"] if replace else [])

    result = run(app, *args)

    assert result.exit_code == 1
    assert result.stdout == ""
    assert "n'est pas un document d'échange valide (5 erreur(s))" in result.stderr
    for path in BROKEN_PATHS:
        assert f"  {path}" in result.stderr, path
    assert "négatif" in result.stderr
    assert "SIRET invalide" in result.stderr
    assert database_content() == populated


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"format": "consortium-exchange", "version": 1,', "$: JSON mal formé, ligne 1"),
        ("", "$: JSON mal formé, ligne 1, colonne 1"),
        ('{"format": "consortium-exchange", "version": 1, "version": 1}', "version: clé en double"),
        ("[1, 2]", "$: "),
    ],
    ids=["truncated", "empty", "duplicate-key", "not-an-object"],
)
def test_malformed_json_is_refused_with_its_position_and_changes_nothing(
    app: Flask, tmp_path: Path, populated: dict[str, Any], text: str, expected: str
) -> None:
    result = run(app, "import-consortium", write(tmp_path, text), "--replace")

    assert result.exit_code == 1
    assert expected in result.stderr
    assert database_content() == populated


def test_ambiguous_json_number_amount_is_refused_but_a_two_decimal_number_is_accepted(
    app: Flask, tmp_path: Path
) -> None:
    text = json.dumps(demo_data(), ensure_ascii=False)
    amount = '"personnel": "38333.00"'
    assert amount in text

    refused = run(app, "import-consortium", write(tmp_path, text.replace(amount, '"personnel": 1.005', 1)))
    accepted = run(app, "import-consortium", write(tmp_path, text.replace(amount, '"personnel": 1.5', 1)))

    assert refused.exit_code == 1
    assert re.search(r"partners\[\d+\]\.budget\.\d{4}\.expenses\.personnel: ", refused.stderr)
    assert accepted.exit_code == 0, accepted.output
    assert '"personnel": "1.50"' in run(app, "export-consortium", SLUG).stdout


def test_existing_slug_is_refused_without_replace_in_french(
    app: Flask, tmp_path: Path, populated: dict[str, Any]
) -> None:
    result = run(app, "import-consortium", str(DEMO_DOCUMENT))

    assert result.exit_code == 1
    assert result.stderr == (
        f"Erreur : Le consortium « {SLUG} » existe déjà. Utilisez --replace pour le remplacer.\n"
    )
    assert database_content() == populated


def test_replace_takes_the_new_document_and_keeps_everyones_roles(app: Flask, tmp_path: Path) -> None:
    consortium = make_consortium()
    make_member(consortium, Role.COORDINATOR, "urtie-idf", email="coord@exemple.fr")
    make_member(consortium, Role.DIRECTOR, "plie-sevran", email="dir@exemple.fr")
    make_member(consortium, Role.CONTRIBUTOR, "mde-aulnay", email="contrib@exemple.fr")
    make_member(consortium, Role.READER, email="lecteur@exemple.fr")
    before = grants()
    changed = demo_data()
    changed["consortium"]["title"] = "Cap Remobilisation, version 2"

    result = run(app, "import-consortium", write(tmp_path, changed), "--replace")

    assert result.exit_code == 0, result.output
    assert result.stdout == f"{SLUG}\n"
    assert grants() == before
    assert json.loads(run(app, "export-consortium", SLUG).stdout)["consortium"]["title"] == (
        "Cap Remobilisation, version 2"
    )
    assert count(Consortium) == 1


def test_replace_drops_only_the_roles_of_a_partner_that_left(app: Flask, tmp_path: Path) -> None:
    consortium = make_consortium()
    make_member(consortium, Role.DIRECTOR, "plie-sevran", email="dir@exemple.fr")
    make_member(consortium, Role.DIRECTOR, "plie-gpsea", email="gpsea@exemple.fr")
    smaller = demo_data(partners=11)  # plie-gpsea, the last one, leaves

    result = run(app, "import-consortium", write(tmp_path, smaller), "--replace")

    assert result.exit_code == 0, result.output
    assert grants() == {("dir@exemple.fr", "director", "plie-sevran")}


def test_database_failure_during_import_rolls_everything_back(
    app: Flask, tmp_path: Path, populated: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.budget.models import ExpenseCategory
    from app.exchange import importer

    def duplicate_category(*args: Any, **kwargs: Any) -> None:
        # The last step of an import breaks a unique constraint, after every row was written.
        newest = db.session.scalar(select(Consortium).order_by(Consortium.id.desc()).limit(1))
        assert newest is not None
        db.session.add(ExpenseCategory(consortium_id=newest.id, code="personnel", label="Doublon"))
        db.session.flush()

    monkeypatch.setattr(importer, "record_event", duplicate_category)
    changed = demo_data()
    changed["consortium"]["title"] = "Ne doit jamais être enregistré"

    replaced = run(app, "import-consortium", write(tmp_path, changed), "--replace")
    changed["consortium"]["slug"] = "nouveau"
    created = run(app, "import-consortium", write(tmp_path, changed))

    for result in (replaced, created):
        assert result.exit_code == 1
        assert "la base de données a refusé l'import, rien n'a été enregistré" in result.stderr
        assert result.stdout == ""
    assert database_content() == populated


def test_import_of_a_missing_file_is_refused(app: Flask, tmp_path: Path) -> None:
    result = run(app, "import-consortium", str(tmp_path / "absent.json"))

    assert result.exit_code == 2
    assert count(Consortium) == 0


# --- export-consortium --------------------------------------------------------------------------


def test_export_of_an_unknown_slug_fails_in_french(app: Flask) -> None:
    make_consortium()

    result = run(app, "export-consortium", "n-existe-pas")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == "Erreur : aucun consortium « n-existe-pas ».\n"


def test_export_to_a_file_writes_only_the_document_there(app: Flask, tmp_path: Path) -> None:
    make_consortium()
    target = tmp_path / "sortie.json"

    result = run(app, "export-consortium", SLUG, "-o", str(target))

    assert result.exit_code == 0
    assert result.stdout == ""
    assert without_exported_at(target.read_text("utf-8")) == without_exported_at(
        DEMO_DOCUMENT.read_text("utf-8")
    )


# --- create-user --------------------------------------------------------------------------------


@pytest.mark.parametrize("end", ["\n", "\r\n", ""], ids=["lf", "crlf", "no-newline"])
def test_create_user_reads_the_password_from_stdin_and_the_person_can_log_in(
    app: Flask, client: FlaskClient, end: str
) -> None:
    result = run(
        app, "create-user", "Nadia@Exemple.fr", "--name", "Nadia Test", input=f"{STRONG_PASSWORD}{end}"
    )

    assert result.exit_code == 0, result.output
    assert "nadia@exemple.fr" in result.stdout
    login(client, "nadia@exemple.fr", STRONG_PASSWORD)
    assert client.get("/").status_code == 200


def test_create_user_with_admin_flag_makes_a_platform_administrator(app: Flask) -> None:
    result = run(app, "create-user", "root@exemple.fr", "--name", "Admin", "--admin", input=STRONG_PASSWORD)

    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "root@exemple.fr"))
    assert user is not None
    assert user.is_admin


def test_create_user_refuses_an_address_already_taken_whatever_its_case(app: Flask) -> None:
    make_user("deja@exemple.fr", name="Première")

    result = run(app, "create-user", "DEJA@exemple.fr", "--name", "Seconde", input=STRONG_PASSWORD)

    assert result.exit_code == 1
    assert "Un compte existe déjà avec l'adresse deja@exemple.fr" in result.stderr
    assert [u.name for u in db.session.scalars(select(User))] == ["Première"]


@pytest.mark.parametrize("password", ["court", ""], ids=["short", "empty"])
def test_create_user_refuses_a_short_password(app: Flask, password: str) -> None:
    result = run(app, "create-user", "nadia@exemple.fr", "--name", "Nadia", input=f"{password}\n")

    assert result.exit_code == 1
    assert "au moins 10 caractères" in result.stderr
    assert count(User) == 0


def test_create_user_requires_a_name(app: Flask) -> None:
    result = run(app, "create-user", "nadia@exemple.fr", input=STRONG_PASSWORD)

    assert result.exit_code == 2
    assert count(User) == 0


# --- grant --------------------------------------------------------------------------------------


def test_grant_gives_a_role_that_lets_the_person_read_the_consortium(app: Flask, client: FlaskClient) -> None:
    make_consortium()
    make_user("dir@exemple.fr")

    result = run(app, "grant", "dir@exemple.fr", SLUG, "director", "--partner", "plie-sevran")

    assert result.exit_code == 0, result.output
    assert grants() == {("dir@exemple.fr", "director", "plie-sevran")}
    login(client, "dir@exemple.fr")
    assert client.get(f"/api/v1/consortia/{SLUG}").status_code == 200


@pytest.mark.parametrize(
    ("args", "exit_code", "message"),
    [
        (["dir@exemple.fr", SLUG, "superviseur"], 2, "superviseur"),
        (["dir@exemple.fr", SLUG, "director", "--partner", "inconnu"], 1, "aucun membre « inconnu »"),
        (["dir@exemple.fr", SLUG, "director"], 1, "se rattache à un membre"),
        (["dir@exemple.fr", SLUG, "coordinator", "--partner", "plie-sevran"], 1, "chef de file"),
        (["personne@exemple.fr", SLUG, "reader"], 1, "aucun compte pour personne@exemple.fr"),
        (["dir@exemple.fr", "n-existe-pas", "reader"], 1, "aucun consortium « n-existe-pas »"),
    ],
    ids=[
        "bad-role",
        "bad-partner",
        "director-without-partner",
        "coordinator-elsewhere",
        "no-account",
        "no-slug",
    ],
)
def test_grant_refuses_what_does_not_fit(app: Flask, args: list[str], exit_code: int, message: str) -> None:
    make_consortium()
    make_user("dir@exemple.fr")

    result = run(app, "grant", *args)

    assert result.exit_code == exit_code
    assert message in result.stderr
    assert count(RoleGrant) == 0


# --- create-token -------------------------------------------------------------------------------


def test_create_token_prints_the_token_alone_on_the_last_line(app: Flask, client: FlaskClient) -> None:
    consortium = make_consortium()
    reader = make_member(consortium, Role.READER)

    result = run(app, "create-token", reader.email, "--label", "script de suivi")

    assert result.exit_code == 0, result.output
    token = result.stdout.splitlines()[-1]
    assert re.fullmatch(r"cst_[A-Za-z0-9_-]{20,}", token)
    assert token not in result.stderr
    response = client.get(f"/api/v1/consortia/{SLUG}", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200


def test_create_token_for_an_unknown_address_fails(app: Flask) -> None:
    result = run(app, "create-token", "personne@exemple.fr")

    assert result.exit_code == 1
    assert result.stdout == ""
    assert "aucun compte pour personne@exemple.fr" in result.stderr


# --- seed-demo and is-empty ---------------------------------------------------------------------


def test_seed_demo_twice_gives_one_consortium_five_accounts_and_no_duplicate_grants(
    app: Flask, client: FlaskClient
) -> None:
    first = run(app, "seed-demo")
    second = run(app, "seed-demo")

    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    assert "Consortium de démonstration importé" in first.stdout
    assert "Consortium de démonstration importé" not in second.stdout
    assert count(Consortium) == 1
    assert count(User) == 5
    assert grants() == {
        ("coordination@urtie.example", "coordinator", "urtie-idf"),
        ("direction@plie-sevran.example", "director", "plie-sevran"),
        ("equipe@plie-sevran.example", "contributor", "plie-sevran"),
        ("lecture@financeur.example", "reader", None),
    }
    assert count(RoleGrant) == 4
    granted = db.session.scalars(select(AuditEvent).where(AuditEvent.kind == "role.granted")).all()
    assert len(granted) == 4  # the second run granted nothing again
    login(client, "coordination@urtie.example", "consortio-demo")
    assert client.get(f"/consortia/{SLUG}/export.json").status_code == 200


def test_the_seeded_demo_is_in_the_middle_of_its_work_whatever_the_day(
    app: Flask, client: FlaskClient
) -> None:
    assert run(app, "seed-demo").exit_code == 0
    consortium = db.session.scalar(select(Consortium))
    assert consortium is not None
    deadline = consortium.call.submission_deadline
    assert deadline is not None
    assert 35 <= (deadline - paris_today()).days <= 49  # about six weeks ahead
    assert consortium.project_start > deadline
    assert (consortium.project_start.day, consortium.project_end.year - consortium.project_start.year) == (
        1,
        3,
    )
    login(client, "coordination@urtie.example", "consortio-demo")
    board = client.get(f"/consortia/{SLUG}/suivi").get_data(as_text=True)
    assert "Dépassé" not in board
    assert "jour(s)" in board or "J-" in board


def test_seed_demo_is_refused_where_demo_data_is_not_allowed(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "DEMO_ALLOWED", False)

    result = run(app, "seed-demo")

    assert result.exit_code == 1
    assert "refusées en production" in result.stderr
    assert (count(Consortium), count(User)) == (0, 0)


def test_is_empty_says_whether_any_consortium_exists(app: Flask) -> None:
    assert run(app, "is-empty").exit_code == 0

    make_consortium()

    assert run(app, "is-empty").exit_code == 1
