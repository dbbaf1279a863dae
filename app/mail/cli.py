"""`flask --app wsgi send-outbox`: send the e-mails waiting in the outbox (cron, or a loop)."""

from __future__ import annotations

import sys
import time

import click

from app.mail.delivery import deliver_due


@click.command("send-outbox")
@click.option("--limit", default=100, show_default=True, help="Nombre maximal de messages par passage.")
@click.option(
    "--loop",
    "interval",
    type=click.IntRange(min=1),
    default=None,
    help="Recommencer toutes les N secondes, sans s'arrêter (sinon un seul passage).",
)
def send_outbox(limit: int, interval: int | None) -> None:
    """Send the due messages of the outbox; exit 1 when one was given up after its last retry."""
    while True:
        report = deliver_due(limit=limit)
        if report.sent or report.retried or report.failed or interval is None:
            click.echo(
                f"Courriels : {report.sent} envoyé(s), {report.retried} à réessayer, "
                f"{report.failed} en échec définitif."
            )
        if interval is None:
            sys.exit(1 if report.failed else 0)
        time.sleep(interval)
