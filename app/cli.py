"""Command-line interface: `flask --app wsgi <command>`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import NoReturn

import click
from flask import Flask, current_app
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from app.auth import services as accounts
from app.consortia.models import Consortium, Role, RoleGrant
from app.consortia.services import get_consortium, grant_role, partner_by_code
from app.database import utcnow
from app.errors import DomainError
from app.exchange.demo import dated_document
from app.exchange.exporter import export_document
from app.exchange.importer import import_document
from app.exchange.serialisation import dumps
from app.exchange.validation import ExchangeInvalid, load_document
from app.extensions import db
from app.templating import paris_today

DEMO_FILE = Path(__file__).parent / "exchange" / "demo-consortium.json"
DEMO_PASSWORD = "consortio-demo"
# (e-mail, name, role, partner code); the admin has no role, it sees everything.
DEMO_ACCOUNTS = [
    ("admin@consortio.example", "Alex Admin", None, None),
    ("coordination@urtie.example", "Claire Coordinatrice", Role.COORDINATOR, "urtie-idf"),
    ("direction@plie-sevran.example", "Dominique Directrice", Role.DIRECTOR, "plie-sevran"),
    ("equipe@plie-sevran.example", "Camille Contributrice", Role.CONTRIBUTOR, "plie-sevran"),
    ("lecture@financeur.example", "Louis Lecteur", Role.READER, None),
]


def _fail(message: str) -> NoReturn:
    """Undo everything the command did, say why on stderr and exit 1."""
    db.session.rollback()
    click.echo(f"Erreur : {message}", err=True)
    sys.exit(1)


def _read_password(prompt: str) -> str:
    """The password from standard input when it is piped, else asked twice without echo."""
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\r\n")
    return str(click.prompt(prompt, hide_input=True, confirmation_prompt=True))


def _has_grant(user_id: int, consortium_id: int) -> bool:
    return (
        db.session.scalar(
            select(RoleGrant.id).where(RoleGrant.user_id == user_id, RoleGrant.consortium_id == consortium_id)
        )
        is not None
    )


def _import_file(path: Path, *, replace: bool) -> Consortium:
    """Read, check and import the file; on any error nothing is kept and every problem is listed."""
    try:
        document = load_document(path.read_bytes())
        return import_document(document, replace=replace)
    except ExchangeInvalid as error:
        db.session.rollback()
        click.echo(
            f"Erreur : {path} n'est pas un document d'échange valide ({len(error.errors)} erreur(s)) :",
            err=True,
        )
        for line in error.errors:
            click.echo(f"  {line}", err=True)
        sys.exit(1)
    except OSError as error:
        _fail(f"lecture de {path} impossible ({error.strerror or error}).")
    except SQLAlchemyError as error:
        # A database refusal mid-import (constraint, connection lost): nothing of it may remain.
        _fail(f"la base de données a refusé l'import, rien n'a été enregistré ({type(error).__name__}).")


@click.command("import-consortium")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Remplacer le consortium s'il existe déjà (même slug).")
def import_consortium(file: Path, replace: bool) -> None:
    """Import a consortium from an exchange document (JSON); prints its slug."""
    try:
        consortium = _import_file(file, replace=replace)
    except DomainError as error:
        _fail(str(error))
    slug = consortium.slug
    db.session.commit()
    click.echo(slug)


@click.command("export-consortium")
@click.argument("slug")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Fichier à écrire (sinon la sortie standard).",
)
def export_consortium(slug: str, output: Path | None) -> None:
    """Export a consortium as an exchange document (JSON)."""
    consortium = get_consortium(slug)
    if consortium is None:
        _fail(f"aucun consortium « {slug} ».")
    text = dumps(export_document(consortium))
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        click.echo(f"Exporté vers {output}", err=True)


@click.command("create-user")
@click.argument("email")
@click.option("--name", required=True, help="Nom affiché de la personne.")
@click.option("--admin", is_flag=True, help="Administrateur de la plateforme.")
def create_user(email: str, name: str, admin: bool) -> None:
    """Create an account; the password is read from standard input or prompted."""
    password = _read_password("Mot de passe")
    try:
        user = accounts.create_user(email, name=name, password=password, is_admin=admin)
    except DomainError as error:
        _fail(str(error))
    db.session.commit()
    click.echo(f"Compte créé : {user.email}")


@click.command("grant")
@click.argument("email")
@click.argument("slug")
@click.argument("role", type=click.Choice([role.value for role in Role]))
@click.option("--partner", "partner_code", help="Identifiant du membre (directeur, contributeur).")
def grant(email: str, slug: str, role: str, partner_code: str | None) -> None:
    """Give a person a role in a consortium (coordinator, director, contributor, reader)."""
    user = accounts.find_user(email)
    consortium = get_consortium(slug)
    if user is None:
        _fail(f"aucun compte pour {email}.")
    if consortium is None:
        _fail(f"aucun consortium « {slug} ».")
    partner = None
    if partner_code:
        partner = partner_by_code(consortium, partner_code)
        if partner is None:
            _fail(f"aucun membre « {partner_code} » dans {slug}.")
    try:
        grant_role(user, consortium, Role(role), partner)
    except DomainError as error:
        _fail(str(error))
    db.session.commit()
    click.echo(f"{user.email} : {role} dans {slug}")


@click.command("create-token")
@click.argument("email")
@click.option("--label", default="", help="À quoi sert ce jeton.")
def create_token(email: str, label: str) -> None:
    """Create an API token; it is printed once, alone on the last line."""
    user = accounts.find_user(email)
    if user is None:
        _fail(f"aucun compte pour {email}.")
    token = accounts.create_token(user, label)
    db.session.commit()
    click.echo("Jeton créé. Conservez-le : il ne sera plus affiché.", err=True)
    click.echo(token)


@click.command("seed-demo")
def seed_demo() -> None:
    """Load the demo consortium and one demo account per role (idempotent; refused in production)."""
    if not current_app.config.get("DEMO_ALLOWED"):
        _fail("les données de démonstration sont refusées en production.")
    document = dated_document(DEMO_FILE.read_bytes(), paris_today(), utcnow())
    consortium = get_consortium(document.consortium.slug)
    if consortium is None:
        consortium = import_document(document)
        click.echo(f"Consortium de démonstration importé : {consortium.slug}")
    try:
        for email, name, role, partner_code in DEMO_ACCOUNTS:
            user = accounts.find_user(email) or accounts.create_user(
                email, name=name, password=DEMO_PASSWORD, is_admin=role is None
            )
            # Looked up afresh (not through the per-request cache of permissions): running the
            # command again must find the grants the previous run made.
            if role is not None and not _has_grant(user.id, consortium.id):
                partner = partner_by_code(consortium, partner_code) if partner_code else None
                grant_role(user, consortium, role, partner)
    except DomainError as error:
        _fail(str(error))
    db.session.commit()
    click.echo(f"Comptes de démonstration (mot de passe : {DEMO_PASSWORD}) :")
    for email, _name, role, partner_code in DEMO_ACCOUNTS:
        click.echo(
            f"  {email:34} {role.value if role else 'admin'}{' · ' + partner_code if partner_code else ''}"
        )


@click.command("is-empty")
def is_empty() -> None:
    """Exit 0 when the database holds no consortium (used by `make run` to seed once)."""
    sys.exit(0 if db.session.scalar(select(Consortium.id).limit(1)) is None else 1)


def init_app(app: Flask) -> None:
    """Register the commands."""
    for command in (
        import_consortium,
        export_consortium,
        create_user,
        grant,
        create_token,
        seed_demo,
        is_empty,
    ):
        app.cli.add_command(command)
