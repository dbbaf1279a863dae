"""`flask --app wsgi export-dossier SLUG -o FILE.pdf [--final]`: the dossier's PDF, rendered here and now."""

from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import with_appcontext

from app.audit import EventKind, record_event
from app.consortia.services import get_consortium
from app.dossier.document import build_dossier
from app.dossier.rendering import render_now
from app.errors import DomainError
from app.extensions import db


@click.command("export-dossier")
@click.argument("slug")
@click.option(
    "-o",
    "--output",
    "output",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Fichier PDF à écrire.",
)
@click.option("--final", is_flag=True, help="Dossier final (refusé tant que le consortium a des erreurs).")
@with_appcontext
def export_dossier_command(slug: str, output: Path, final: bool) -> None:
    """Écrit le PDF du dossier d'un consortium (brouillon, ou final avec --final)."""
    consortium = get_consortium(slug)
    if consortium is None:
        click.echo(f"Erreur : le consortium « {slug} » n'existe pas.", err=True)
        sys.exit(1)
    if final:
        errors = build_dossier(consortium, final=False).errors
        if errors:
            click.echo(
                f"Erreur : dossier final refusé tant que le consortium a des erreurs ({len(errors)}) :",
                err=True,
            )
            for error in errors:
                click.echo(f"  - {error}", err=True)
            sys.exit(1)
    try:
        _dossier, rendered = render_now(consortium, final=final)
    except DomainError as error:
        db.session.rollback()
        click.echo(f"Erreur : {error}", err=True)
        sys.exit(1)
    # Written whole or not at all: a partial file would look like a dossier.
    temporary = output.with_name(output.name + ".partiel")
    temporary.write_bytes(rendered.data)
    temporary.replace(output)
    record_event(
        EventKind.DOSSIER_EXPORTED,
        actor_id=None,
        consortium_id=consortium.id,
        format="pdf",
        final=final,
        via="cli",
    )
    db.session.commit()
    kind = "final" if final else "brouillon"
    click.echo(
        f"Dossier {kind} écrit dans {output} ({rendered.page_count} pages, {len(rendered.data)} octets)."
    )
