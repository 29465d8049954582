"""Staff pages in the viewer's language: English (the words in the templates), Danish and
Indonesian (the catalogs in `locales/`).

The catalogs are the `.po` files themselves, compiled in memory when first needed: what the
repository holds is what runs, with no build step to forget. `make catalogs` extracts the
words of the templates and updates the catalogs (README: "Languages").
"""

from __future__ import annotations

import gettext
import re
from collections.abc import Callable, Iterable
from functools import cache
from typing import Any

from babel import Locale, UnknownLocaleError
from babel.messages.pofile import read_po
from jinja2 import pass_context
from jinja2.runtime import Context
from markupsafe import Markup, escape

from recovery.domain.said import Said, localize
from recovery.letters.i18n import DEFAULT_LOCALE, LOCALES
from recovery.letters.staff_words import LOCALE_DIR, staff_catalog

__all__ = [
    "DEFAULT_LOCALE",
    "LANGUAGE_NAMES",
    "LOCALES",
    "N_",
    "choose_locale",
    "from_accept_language",
    "template_callables",
    "translations",
]

LANGUAGE_NAMES = {"en": "English", "da": "Dansk", "id": "Bahasa Indonesia"}
_TAG = re.compile(r"^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$|^\*$")


def translations(locale: str) -> gettext.NullTranslations:
    """The compiled catalog of `locale` (English: the words as written)."""
    return staff_catalog(locale)


def from_accept_language(header: str | None) -> str | None:
    """The first of our languages the browser asks for (`da-DK,da;q=0.9,en;q=0.8` -> da),
    by the header's q-values; None when it names none of them. Bounded: a long or odd
    header is read only as far as it makes sense."""
    if not header:
        return None
    wanted: list[tuple[float, int, str]] = []
    for order, part in enumerate(header[:500].split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        if not _TAG.match(tag):
            continue
        quality = 1.0
        name, _, value = params.strip().partition("=")
        if name.strip() == "q":
            try:
                quality = float(value)
            except ValueError:
                continue
        if quality > 0:
            wanted.append((-quality, order, tag.replace("-", "_")))
    preferred = [tag for _, _, tag in sorted(wanted) if tag != "*"]
    found = Locale.negotiate(preferred, LOCALES, sep="_") if preferred else None
    return found.language if found is not None else None


def choose_locale(chosen: str | None, accept_language: str | None) -> str:
    """The viewer's language: their own choice, else the browser's, else English."""
    if chosen in LOCALES:
        return chosen
    return from_accept_language(accept_language) or DEFAULT_LOCALE


def N_(text: str) -> str:
    """Marks a Python string for the catalogs; pages translate it when they show it."""
    return text


def babel_locale(locale: str) -> Locale:
    try:
        return Locale.parse(locale)
    except (ValueError, UnknownLocaleError):
        return Locale.parse(DEFAULT_LOCALE)


def _newstyle(func: Callable[..., str], locale: str) -> Callable[..., str]:
    """gettext for templates as Jinja's "newstyle" gettext: placeholders by name
    (`_("Due %(when)s", when=...)`), the result marked safe and the values escaped.
    Words that are `Said` (a playbook's, the engine's) are said in `locale`, given as
    the text or as a value."""

    @pass_context
    def call(context: Context, string: str, **variables: Any) -> str:
        if isinstance(string, Said):
            string = localize(string, func, locale)
            value = escape(string) if context.eval_ctx.autoescape else string
            return value % variables if variables else value
        variables = {
            k: localize(v, func, locale) if isinstance(v, Said) else v for k, v in variables.items()
        }
        value = func(string) if string else ""  # gettext("") is the catalog's header
        if context.eval_ctx.autoescape:
            value = Markup(value)
        if variables:
            return value % variables
        # no placeholders: only the `%%` of a {% trans %} block (a dynamic text's lone % stays)
        return value.replace("%%", "%")

    return call


def _newstyle_plural(func: Callable[..., str]) -> Callable[..., str]:
    @pass_context
    def call(context: Context, singular: str, plural: str, num: int, **variables: Any) -> str:
        variables.setdefault("num", num)
        value = func(singular, plural, num)
        if context.eval_ctx.autoescape:
            value = Markup(value)
        return value % variables

    return call


@cache
def template_callables(locale: str) -> dict[str, Callable[..., str]]:
    """What a page of `locale` renders with: `gettext`, `ngettext` and `_` in that language
    (passed with each render, so one environment serves every language at once)."""
    found = translations(locale)
    one = _newstyle(found.gettext, locale)
    return {"gettext": one, "_": one, "ngettext": _newstyle_plural(found.ngettext)}


def translate(locale: str, text: str) -> str:
    """A message from Python code (a page title, a refusal, a playbook's words when they
    are `Said`) in `locale`."""
    if isinstance(text, Said):
        return localize(text, translations(locale).gettext, locale)
    return translations(locale).gettext(text) if text else ""


def untranslated(locales: Iterable[str] = LOCALES) -> dict[str, list[str]]:
    """Per locale, the msgids of its catalog with no translation (for the tests)."""
    missing: dict[str, list[str]] = {}
    for locale in locales:
        path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
        if locale == DEFAULT_LOCALE:
            continue
        with path.open("rb") as po:
            catalog = read_po(po, locale=locale)
        missing[locale] = [str(m.id) for m in catalog if m.id and (not m.string or m.fuzzy)]
    return missing
