"""Times, numbers and money on the staff pages, in the viewer's language (Babel) and in the
right zone: a page about one property shows its zone (`page_zone`); a list of incidents
(board, search, approvals, notifications) shows each time in its own property's zone
(`when_at(site)`). Either way the zone is marked, so nobody reads another zone's clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.numbers import format_currency, format_decimal
from jinja2 import Environment, pass_context
from jinja2.runtime import Context

from recovery.domain.state import parse_iso
from recovery.domain.words import Said, localize
from recovery.http.web.translations import DEFAULT_LOCALE, N_, babel_locale, translations

# The codes a page shows as words (their translations are in the catalogs).
CHANNEL_NAMES = {
    "desk": N_("desk"),
    "phone": N_("phone"),
    "email": N_("e-mail"),
    "chat": N_("chat"),
    "web": N_("web"),
    "letter": N_("letter"),
}
STATUS_NAMES = {
    "open": N_("open"),
    "escalated": N_("escalated"),
    "closed": N_("closed"),
    "released": N_("released"),
}

SHORT = "EEE d MMM, HH:mm"
FULL = "d MMM y, HH:mm:ss"
MONEY = "#,##0.## ¤¤"


def install_formats(
    env: Environment, zone: ZoneInfo, zone_of: Callable[[str], ZoneInfo | None]
) -> None:
    def moment_of(value: str | datetime | None) -> datetime | None:
        if value is None or value == "":
            return None
        moment = parse_iso(value) if isinstance(value, str) else value
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)

    def page_zone(context: Context | dict[str, object]) -> ZoneInfo | None:
        found = context.get("page_zone")  # a page about one property: its zone
        return found if isinstance(found, ZoneInfo) else None

    def language(context: Context) -> str:
        locale = context.get("locale")
        return locale if isinstance(locale, str) else DEFAULT_LOCALE

    def shown(context: Context, moment: datetime, pattern: str, marked: bool) -> str:
        text = format_datetime(moment, pattern, locale=babel_locale(language(context)))
        return f"{text} {moment:%Z}" if marked else text

    def in_zone(
        context: Context, value: str | datetime | None, site: str | None
    ) -> datetime | None:
        moment = moment_of(value)
        if moment is None:
            return None
        own = zone_of(site) if site else None
        return moment.astimezone(own or page_zone(context) or zone)

    @pass_context
    def when(context: Context, value: str | datetime | None) -> str:
        moment = in_zone(context, value, None)
        if moment is None:
            return ""
        return shown(context, moment, SHORT, page_zone(context) is not None)

    @pass_context
    def when_full(context: Context, value: str | datetime | None) -> str:
        moment = in_zone(context, value, None)
        return "" if moment is None else shown(context, moment, FULL, True)

    @pass_context
    def when_at(context: Context, value: str | datetime | None, site: str | None) -> str:
        """A time of an incident at `site`, in that property's zone, marked."""
        moment = in_zone(context, value, site)
        return "" if moment is None else shown(context, moment, SHORT, True)

    @pass_context
    def when_full_at(context: Context, value: str | datetime | None, site: str | None) -> str:
        moment = in_zone(context, value, site)
        return "" if moment is None else shown(context, moment, FULL, True)

    @pass_context
    def number(context: Context, value: float | None) -> str:
        if value is None:
            return ""
        return format_decimal(value, locale=babel_locale(language(context)))

    @pass_context
    def money(context: Context, value: float | None, currency: str) -> str:
        if value is None:
            return ""
        # "450 EUR", "1.234,5 EUR": the code after the amount, as the forms ask for it
        return format_currency(
            value,
            currency,
            MONEY,
            locale=babel_locale(language(context)),
            currency_digits=False,
        )

    def input_time(value: str | datetime | None) -> str:
        # read back by the audit form in the server's zone: never a page's zone
        moment = moment_of(value)
        return "" if moment is None else moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M:%S")

    @pass_context
    def said(context: Context, text: object) -> str:
        """Words in the page's language: a refusal's (`Said`), or a text the catalogs hold
        (marked with N_); anything else (a name, a value) as it is."""
        if not text:
            return ""  # gettext("") is the catalog's header
        locale = language(context)
        gettext = translations(locale).gettext
        return localize(text, gettext, locale) if isinstance(text, Said) else gettext(str(text))

    @pass_context
    def finalize(context: Context, value: object) -> object:
        """Every `{{ ... }}` that is `Said` (a step title, an evidence label, a timeline
        title) in the page's language; anything else as it is."""
        if isinstance(value, Said):
            locale = language(context)
            return localize(value, translations(locale).gettext, locale)
        return value

    env.finalize = finalize
    env.globals["said"] = said
    env.filters.update(
        when=when,
        when_full=when_full,
        when_at=when_at,
        when_full_at=when_full_at,
        number=number,
        money=money,
        input_time=input_time,
    )
