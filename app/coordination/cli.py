"""`flask --app wsgi send-reminders`: the reminders milestones call for today (for cron)."""

from __future__ import annotations

from datetime import date

import click

from app.coordination.reminders import send_scheduled
from app.coordination.services import paris_today
from app.templating import french_date


def _day(value: str | None) -> date:
    if value is None:
        return paris_today()
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter("date attendue au format AAAA-MM-JJ, par exemple 2026-03-15.") from None


@click.command("send-reminders")
@click.option(
    "--today", "today", default=None, help="Date du jour (AAAA-MM-JJ), par défaut aujourd'hui à Paris."
)
def send_reminders(today: str | None) -> None:
    """Remind each partner that owes something for a milestone due within its reminder window."""
    day = _day(today)
    result = send_scheduled(day)
    click.echo(
        f"Relances automatiques du {french_date(day)} : {len(result.sent)} membre(s) relancé(s), "
        f"{result.emails} e-mail(s) placé(s) dans la boîte d'envoi, "
        f"{len(result.already_sent)} déjà relancé(s) aujourd'hui, "
        f"{len(result.without_address)} sans adresse e-mail."
    )
    for label in result.sent:
        click.echo(f"  relancé : {label}")
    for label in result.without_address:
        click.echo(f"  sans adresse, non relancé : {label}")
