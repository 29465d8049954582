"""The customer status page's languages: the customer's words live with the letters
(`recovery.letters.customer_words`), as a subject access export writes them too."""

from __future__ import annotations

from recovery.letters.customer_words import LANGUAGE_NAMES, step_text, words
from recovery.letters.i18n import DEFAULT_LOCALE, LOCALES, pick_locale

__all__ = ["DEFAULT_LOCALE", "LANGUAGE_NAMES", "LOCALES", "pick_locale", "step_text", "words"]
