"""The languages letters are written in, and dates as each of them writes them.

Three locales, the languages the stories came in: English (the fallback), Danish and
Indonesian. A small table rather than a locale library: month names and the order of day,
month and time are all a letter needs.
"""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

DEFAULT_LOCALE = "en"
LOCALES = ("en", "da", "id")

_MONTHS = {
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    "da": [
        "januar",
        "februar",
        "marts",
        "april",
        "maj",
        "juni",
        "juli",
        "august",
        "september",
        "oktober",
        "november",
        "december",
    ],
    "id": [
        "Januari",
        "Februari",
        "Maret",
        "April",
        "Mei",
        "Juni",
        "Juli",
        "Agustus",
        "September",
        "Oktober",
        "November",
        "Desember",
    ],
}
_DATE = {"en": "{d} {month} {y}", "da": "{d}. {month} {y}", "id": "{d} {month} {y}"}
_TIME = {"en": "{h:02d}:{m:02d}", "da": "kl. {h:02d}.{m:02d}", "id": "pukul {h:02d}.{m:02d}"}

# What a voucher is worth, as the letter names it (the playbook's `voucher.kind`).
VOUCHER_NAMES: dict[str, dict[str, str]] = {
    "en": {
        "free_night": "a certificate for one free night",
        "voucher": "a voucher",
        "credit": "a credit note",
        "meal": "a voucher for a meal",
    },
    "da": {
        "free_night": "et gavebevis på en gratis overnatning",
        "voucher": "et gavekort",
        "credit": "en kreditnota",
        "meal": "et gavekort til et måltid",
    },
    "id": {
        "free_night": "sertifikat untuk satu malam menginap gratis",
        "voucher": "sebuah voucher",
        "credit": "nota kredit",
        "meal": "voucher makan",
    },
}
_VOUCHER_FALLBACK = {"en": "a voucher", "da": "et gavekort", "id": "sebuah voucher"}


def pick_locale(language: str | None) -> str:
    """The letter's locale for a customer's language ('da', 'da-DK', 'ID'...); English
    when we have no letter in that language."""
    if language:
        code = language.strip().lower().replace("_", "-").split("-")[0]
        if code in LOCALES:
            return code
    return DEFAULT_LOCALE


def format_date(value: date | datetime, locale: str, zone: ZoneInfo | None = None) -> str:
    if isinstance(value, datetime) and zone is not None:
        value = value.astimezone(zone)
    months = _MONTHS[pick_locale(locale)]
    return _DATE[pick_locale(locale)].format(
        d=value.day, month=months[value.month - 1], y=value.year
    )


def format_datetime(value: datetime, locale: str, zone: ZoneInfo | None = None) -> str:
    if zone is not None:
        value = value.astimezone(zone)
    time = _TIME[pick_locale(locale)].format(h=value.hour, m=value.minute)
    joiner = ", " if pick_locale(locale) == "en" else " "
    return format_date(value, locale) + joiner + time


def voucher_name(kind: str, locale: str) -> str:
    locale = pick_locale(locale)
    return VOUCHER_NAMES[locale].get(kind, _VOUCHER_FALLBACK[locale])
