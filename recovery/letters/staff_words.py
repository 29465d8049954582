"""The staff's words in their language, for what is mailed to staff (the notifications
digest) as for the pages: the staff pages' catalogs (`recovery/http/web/locales`, the
`.po` files compiled in memory when first needed), and `Said` words said through them.
"""

from __future__ import annotations

import gettext
from functools import cache
from io import BytesIO
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from recovery.domain.said import Said, localize
from recovery.letters.i18n import DEFAULT_LOCALE

LOCALE_DIR = Path(__file__).resolve().parent.parent / "http" / "web" / "locales"


@cache
def staff_catalog(locale: str) -> gettext.NullTranslations:
    """The compiled catalog of `locale` (English: the words as written)."""
    path = LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po"
    if locale == DEFAULT_LOCALE or not path.is_file():
        return gettext.NullTranslations()
    with path.open("rb") as po:
        catalog = read_po(po, locale=locale)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def staff_say(locale: str | None, text: str) -> str:
    """`text` in `locale` (None: English): `Said` words through the catalogs and the
    playbook's translations, a plain message through the catalogs."""
    found = staff_catalog(locale or DEFAULT_LOCALE)
    if isinstance(text, Said):
        return localize(text, found.gettext, locale)
    return found.gettext(text) if text else ""
