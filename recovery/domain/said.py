"""Words for staff that are said in the viewer's language later: `Said` (the English as a
`str`, with what it was made from), made by `say(...)` (a message of the staff pages'
catalogs, extracted from those calls) or `said_local(...)` (a playbook's own words, with
the translations the playbook gives)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def N_(text: str) -> str:
    """Marks a string for the staff pages' catalogs (said in the viewer's language where a
    page shows it)."""
    return text


class Said(str):
    """Words for staff: English as a `str`, with the message (`{name}` placeholders) and
    the values it was made from (themselves `Said` when they are words too), or, for a
    list, its items and separator."""

    msgid: str | None
    values: Mapping[str, Any]
    items: tuple[Any, ...]
    sep: str
    local: Mapping[str, str] | None
    """a playbook's own words: the text in each language it gives (not in the catalogs)"""

    def __new__(cls, english: str, msgid: str | None, values: Mapping[str, Any]) -> Said:
        said = super().__new__(cls, english)
        said.msgid, said.values, said.items, said.sep = msgid, dict(values), (), ""
        said.local = None
        return said

    def __reduce__(self) -> tuple[Any, ...]:
        """Copied (`copy.deepcopy`, `dataclasses.asdict`) and pickled as what it is."""
        parts = (self.msgid, dict(self.values), self.items, self.sep, self.local)
        return (_rebuilt, (str(self), *parts))


def _rebuilt(
    english: str,
    msgid: str | None,
    values: Mapping[str, Any],
    items: tuple[Any, ...],
    sep: str,
    local: Mapping[str, str] | None,
) -> Said:
    said = Said(english, msgid, values)
    said.items, said.sep, said.local = items, sep, local
    return said


def say(msgid: str, **values: Any) -> Said:
    """`say("Only a manager may {verb}.", verb=...)`: the English now, the rest for later."""
    return Said(msgid.format(**values), msgid, values)


def said_local(english: str, local: Mapping[str, str | None]) -> Said:
    """A playbook's text (a step title, an evidence label) with the translations the
    playbook gives, by language; a language it does not give falls back to the staff
    catalogs (the built-in lifecycles' labels are there), then to the English."""
    said = Said(english, None, {})
    said.local = {language: text for language, text in local.items() if text}
    return said


def say_list(items: Iterable[Any], sep: str = ", ") -> Said:
    """Items (words or names) joined, each translated on its own."""
    kept = tuple(items)
    said = Said(sep.join(str(i) for i in kept), None, {})
    said.items, said.sep = kept, sep
    return said


def said_to_data(text: Any) -> Any:
    """`Said` as plain data (to keep it where only JSON goes, such as a cookie)."""
    if not isinstance(text, Said):
        return str(text)
    if text.local is not None:
        return {"text": str(text), "local": dict(text.local)}
    if text.msgid is None:
        return {"items": [said_to_data(i) for i in text.items], "sep": text.sep}
    return {"msgid": text.msgid, "values": {k: said_to_data(v) for k, v in text.values.items()}}


def said_from_data(data: Any, depth: int = 0) -> Any:
    """What `said_to_data` gave back as `Said` (text that is not stays text). Bounded: the
    data may come from a cookie."""
    if isinstance(data, str) or depth > 4:
        return str(data)
    if not isinstance(data, dict):
        return str(data)
    if isinstance(data.get("text"), str) and isinstance(data.get("local"), dict):
        local = {str(k)[:8]: str(v)[:4000] for k, v in list(data["local"].items())[:10]}
        return said_local(data["text"][:4000], local)
    if isinstance(data.get("items"), list):
        items = [said_from_data(i, depth + 1) for i in data["items"][:50]]
        return say_list(items, str(data.get("sep", ", "))[:5])
    msgid, values = data.get("msgid"), data.get("values")
    if not isinstance(msgid, str) or not isinstance(values, dict):
        return ""
    kept = {str(k): said_from_data(v, depth + 1) for k, v in list(values.items())[:20]}
    try:
        return say(msgid, **kept)
    except (KeyError, IndexError, ValueError):
        return ""


def localize(text: Any, translate: Any, locale: str | None = None) -> str:
    """`text` in another language: `translate(msgid) -> str` gives a message's words, and
    a playbook's own words come from the playbook's translation into `locale`; anything
    that is not `Said` (a name, a number) stays as it is. A translation whose
    placeholders do not fit falls back to the English."""
    if not isinstance(text, Said):
        return str(text)
    if text.local is not None:
        own = text.local.get(locale) if locale else None
        return own or (str(translate(str(text))) if text else "")
    if text.msgid is None:
        return text.sep.join(localize(item, translate, locale) for item in text.items)
    values = {name: localize(value, translate, locale) for name, value in text.values.items()}
    try:
        return str(translate(text.msgid)).format(**values)
    except (KeyError, IndexError, ValueError):
        return str(text)
