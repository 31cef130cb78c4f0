"""Dates and times as chat exports write them, turned into ISO 8601 (DESIGN.md).

Exports without a time zone (WhatsApp, Telegram's local ``date``) give an ISO date-time without
an offset; Unix timestamps give UTC with ``Z``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime

from groomwatch.formats.base import DateOrder

#: ``02/03/2024``, ``2.3.24``, ``2024-03-02``: three numbers with / . or - between them.
DATE = r"\d{1,4}[./-]\d{1,2}[./-]\d{1,4}"
#: ``16:03``, ``16:03:12``, ``4:03 PM``, ``4:03\u202fp.m.``, ``16.03``.
TIME = r"\d{1,2}[:.]\d{2}(?:[:.]\d{2})?(?:[\s\u202f\u00a0]?[AaPp]\.?\s?[Mm]\.?)?"

_DATE_PARTS = re.compile(r"(\d{1,4})[./-](\d{1,2})[./-](\d{1,4})")
_TIME_PARTS = re.compile(
    r"(\d{1,2})[:.](\d{2})(?:[:.](\d{2}))?(?:[\s\u202f\u00a0]?([AaPp])\.?\s?[Mm]\.?)?"
)


def date_parts(text: str) -> tuple[int, int, int] | None:
    m = _DATE_PARTS.fullmatch(text.strip())
    if m is None:
        return None
    return int(m.group(1)), int(m.group(2)), int(m.group(3))


def infer_date_order(dates: Iterable[str]) -> tuple[DateOrder | None, bool]:
    """The order of the fields in these dates: ``(order, certain)``.

    A four-digit first field means year first; a first field above 12 means day first; a second
    field above 12 means month first. When no date tells (all fields <= 12) the order is None and
    the caller chooses. Raises ValueError when the dates contradict each other.
    """
    day_first = month_first = year_first = False
    for text in dates:
        parts = date_parts(text)
        if parts is None:
            continue
        a, b, _ = parts
        if a > 31:
            year_first = True
        elif a > 12:
            day_first = True
        elif b > 12:
            month_first = True
    if sum((day_first, month_first, year_first)) > 1:
        raise ValueError("the dates mix day-first, month-first or year-first orders")
    if year_first:
        return "ymd", True
    if day_first:
        return "dmy", True
    if month_first:
        return "mdy", True
    return None, False


def to_iso(date: str, time: str, order: DateOrder) -> str:
    """``("02/03/2024", "4:03 PM", "dmy")`` → ``"2024-03-02T16:03:00"``. Raises ValueError."""
    parts = date_parts(date)
    if parts is None:
        raise ValueError(f"not a date: {date!r}")
    a, b, c = parts
    if order == "dmy":
        day, month, year = a, b, c
    elif order == "mdy":
        month, day, year = a, b, c
    else:
        year, month, day = a, b, c
    if year < 100:
        year += 2000
    t = _TIME_PARTS.fullmatch(time.strip())
    if t is None:
        raise ValueError(f"not a time: {time!r}")
    hour, minute = int(t.group(1)), int(t.group(2))
    second = int(t.group(3) or 0)
    meridiem = (t.group(4) or "").lower()
    if meridiem:
        if not 1 <= hour <= 12:
            raise ValueError(f"not a 12-hour time: {time!r}")
        hour = hour % 12 + (12 if meridiem == "p" else 0)
    return datetime(year, month, day, hour, minute, second).isoformat()


def normalise_time(value: str, order: DateOrder | None = None) -> str:
    """A time from a CSV or JSON field as ISO 8601: ISO is kept as written, Unix seconds or
    milliseconds become UTC, ``dd/mm/yyyy HH:MM`` style dates use ``order`` (day first when
    unset). Raises ValueError when the value is none of these."""
    value = value.strip()
    if re.fullmatch(r"\d{9,13}(?:\.\d+)?", value):
        seconds = float(value)
        if seconds > 1e11:  # milliseconds
            seconds /= 1000
        return datetime.fromtimestamp(seconds, UTC).isoformat().replace("+00:00", "Z")
    if re.fullmatch(r"\d{1,2}:\d{2}(?::\d{2})?", value):
        return value  # a time of day only, as PAN 2012 has
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        pass
    else:
        return value if "T" in value else parsed.isoformat()
    m = re.fullmatch(rf"({DATE})[,T\s]+({TIME})", value)
    if m is None:
        raise ValueError(f"not an ISO 8601 time, a Unix timestamp or a date and time: {value!r}")
    return to_iso(m.group(1), m.group(2), order or "dmy")
