"""The demo consortium dated from the day it is loaded, so a newcomer finds it in the middle of its work.

The exchange example keeps its historical dates (a 2019 call); `seed-demo` moves them: the
deadline about six weeks ahead, the project starting on the first of a month after it and lasting
the same 36 months, each budget year moved with it, and the sign-offs in the recent past.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from datetime import date, datetime, timedelta
from typing import Any

from app.exchange.document import ExchangeDocument
from app.exchange.serialisation import figures_digest, is_sign_off_valid
from app.exchange.validation import load_document

DEADLINE_AHEAD = timedelta(weeks=6)
MONTHS = [
    "janvier", "février", "mars", "avril", "mai", "juin",
    "juillet", "août", "septembre", "octobre", "novembre", "décembre",
]  # fmt: skip
_PERIOD = re.compile(r"De (\w+) (\d{4}) à (\w+) (\d{4})")


def _add_months(day: date, months: int) -> date:
    """The first of the month `months` after `day`'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _project_start(deadline: date) -> date:
    """The first of the month after the deadline; never January, so the 36 months span four budget years."""
    start = _add_months(deadline, 1)
    return start.replace(month=2) if start.month == 1 else start


def dated_document(text: bytes, today: date, now: datetime) -> ExchangeDocument:
    """The demo document dated from `today`; a sign-off valid in the example stays valid."""
    original = load_document(text)
    document = load_document(json.dumps(dated(json.loads(text), today, now)))
    valid = {partner.id for partner in original.partners if is_sign_off_valid(original, partner)}
    partners = tuple(
        dataclasses.replace(
            partner, sign_off=dataclasses.replace(partner.sign_off, digest=figures_digest(document, partner))
        )
        if partner.sign_off is not None and partner.id in valid
        else partner
        for partner in document.partners
    )
    return dataclasses.replace(document, partners=partners)


def dated(document: dict[str, Any], today: date, now: datetime) -> dict[str, Any]:
    """A copy of the demo document with its call, project, budget years and sign-offs moved to today."""
    data = copy.deepcopy(document)
    old_deadline = date.fromisoformat(data["call"]["submission_deadline"])
    old_start = date.fromisoformat(data["consortium"]["project_start"])
    old_end = date.fromisoformat(data["consortium"]["project_end"])
    deadline = today + DEADLINE_AHEAD
    start = _project_start(deadline)
    months = (old_end.year - old_start.year) * 12 + old_end.month - old_start.month + 1
    end = _add_months(start, months) - timedelta(days=1)
    # « De septembre 2019 à août 2022 » in the texts names the new period (no backslash escapes in it).
    period = _period(start, end)
    data["call"]["submission_deadline"] = deadline.isoformat()
    data["consortium"]["project_start"] = start.isoformat()
    data["consortium"]["project_end"] = end.isoformat()
    shift = start.year - old_start.year
    data["budget_model"]["years"] = [year + shift for year in data["budget_model"]["years"]]
    moved = deadline - old_deadline
    for partner in data["partners"]:
        _move_years(partner, "budget", shift)
        _move_years(partner.get("indicators") or {}, "per_year", shift)
        texts = partner.get("sections") or {}
        for code, html in texts.items():
            texts[code] = _PERIOD.sub(period, html)
        sign_off = partner.get("sign_off")
        if sign_off and sign_off.get("at"):
            at = datetime.fromisoformat(sign_off["at"]) + moved
            sign_off["at"] = min(at, now - timedelta(days=1)).isoformat()
    for section in data["sections"]:
        if isinstance(section.get("content"), str):
            section["content"] = _PERIOD.sub(period, section["content"])
    return data


def _move_years(holder: dict[str, Any], field: str, shift: int) -> None:
    by_year = holder.get(field)
    if isinstance(by_year, dict):
        holder[field] = {str(int(year) + shift) if year.isdigit() else year: v for year, v in by_year.items()}


def _period(start: date, end: date) -> str:
    return f"De {MONTHS[start.month - 1]} {start.year} à {MONTHS[end.month - 1]} {end.year}"
