"""`flask --app wsgi send-digests`: queue each person's daily digest (cron, once a day)."""

from __future__ import annotations

from datetime import UTC, datetime

import click

from app.extensions import db
from app.notifications.services import digest_recipients, send_digest


@click.command("send-digests")
def send_digests_command() -> None:
    """Queue one e-mail per person gathering their waiting notifications (at most one per day)."""
    now = datetime.now(UTC)
    sent = 0
    for user in digest_recipients(now):
        # One transaction per person: a failure for one leaves the others' digests queued.
        try:
            if send_digest(user, now):
                sent += 1
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
    click.echo(f"Résumés quotidiens : {sent} courriel(s) mis en file d'envoi.")
