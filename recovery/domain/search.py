"""Search terms: what an incident can be found by, and what a typed query looks for.

An incident is found by its id, its external reference (reservation, account or case
number), its customer's name (whole, or any word of it) and contact (e-mail, or phone by
its digits). Each is stored lower-cased as a term; a query matches a term it is a prefix
of, so the lookup is an index range, never a scan of the stored states.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from typing import Any

MAX_TERM = 100
"""Terms and queries are cut to this many characters (the column's width)."""
MIN_QUERY = 2
"""A shorter query would match too much to be useful."""

_SPACES = re.compile(r"\s+")
_PHONE = re.compile(r"^[+()\d\s./-]{6,}$")
_NATIONAL_DIGITS = 8  # a phone's last digits: typed without the country code


def normalise(text: str) -> str:
    """Case-folded, accents kept, spaces collapsed: "  Mette  JENSEN " -> "mette jensen"."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip().casefold()[:MAX_TERM]


def compact(text: str) -> str:
    """Letters and digits only: "RES-12 345" -> "res12345" (how a number is retyped)."""
    return "".join(c for c in normalise(text) if c.isalnum())


def _digits(text: str) -> str:
    return "".join(c for c in text if c.isdigit())


def incident_terms(
    incident_id: str, customer: Mapping[str, Any], external_ref: str | None
) -> set[str]:
    """Every term an incident is found by."""
    terms = {normalise(incident_id)}
    if external_ref:
        terms |= {normalise(external_ref), compact(external_ref)}
    name = customer.get("name")
    if isinstance(name, str):
        whole = normalise(name)
        terms |= {whole, *whole.split(" ")}
    key = customer.get("key")  # the back office's own customer number
    if isinstance(key, str) and key.strip():
        terms |= {normalise(key), compact(key)}
    contact = customer.get("contact")
    if isinstance(contact, str) and contact.strip():
        terms.add(normalise(contact))
        if _PHONE.match(contact.strip()):
            digits = _digits(contact)
            terms |= {digits, digits[-_NATIONAL_DIGITS:]}
    return {term for term in terms if term}


def query_keys(query: str) -> list[str]:
    """The prefixes a typed query looks for (empty when it is too short to search)."""
    keys = [normalise(query)]
    if _PHONE.match(query.strip()):
        keys.append(_digits(query))
    keys.append(compact(query))
    found = [key for key in dict.fromkeys(keys) if len(key) >= MIN_QUERY]
    return found
