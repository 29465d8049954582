"""Check the evidence given for a step action against the playbook's rules for it."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from typing import Any

from recovery.domain.playbook import EvidenceField
from recovery.domain.words import say, say_list, words
from recovery.errors import InvalidEvidenceError

_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0", ""}


def check_evidence(
    fields: tuple[EvidenceField, ...], given: Mapping[str, Any], action: str
) -> dict[str, Any]:
    """Return the evidence normalised (numbers as numbers, flags as bools), or raise."""
    by_name = {f.name: f for f in fields}
    for name in given:
        if name not in by_name:
            asked = ", ".join(by_name) or "no evidence"
            labels = say_list(_label(f) for f in fields) if fields else say("nothing")
            raise InvalidEvidenceError(
                f"{name!r} is not asked for when you {action} this step; it asks for: {asked}",
                field=f"evidence.{name}",
                plain=say(
                    "{name} is not asked for here; this asks for: {labels}.",
                    name=words(name).capitalize(),
                    labels=labels,
                ),
            )
    out: dict[str, Any] = {}
    for field in fields:
        raw = given.get(field.name)
        if raw is None or (isinstance(raw, str) and not raw.strip() and field.type != "bool"):
            if field.required and field.type != "bool":
                what = field.label or field.name
                raise InvalidEvidenceError(
                    f"{what} is required to {action} this step"
                    + (f" ({field.help})" if field.help else ""),
                    field=f"evidence.{field.name}",
                    plain=say("{label} is required ({help}).", label=_label(field), help=field.help)
                    if field.help
                    else say("{label} is required.", label=_label(field)),
                )
            if field.type == "bool":
                out[field.name] = False
            continue
        out[field.name] = _coerce(field, raw)
    for field in fields:
        value = out.get(field.name)
        if isinstance(value, int | float) and not isinstance(value, bool):
            _check_range(field, value, out, by_name.get(field.unless or ""))
    return out


def _coerce(field: EvidenceField, raw: Any) -> Any:
    where = f"evidence.{field.name}"
    if field.type in ("number", "money"):
        if isinstance(raw, bool):
            raise InvalidEvidenceError(
                f"{field.name} must be a number",
                field=where,
                plain=say("{label} must be a number.", label=_label(field)),
            )
        if isinstance(raw, int):
            return raw
        try:
            number = float(raw if isinstance(raw, float) else str(raw).strip())
        except ValueError:
            number = math.nan
        if not math.isfinite(number):  # NaN passes every range check; JSON stores it as null
            raise InvalidEvidenceError(
                f"{field.name} must be a number, not {raw!r}",
                field=where,
                plain=say(
                    "{label} must be a number, not {raw}.", label=_label(field), raw=repr(raw)
                ),
            )
        if isinstance(raw, float):
            return raw
        return int(number) if number.is_integer() else number
    if field.type == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise InvalidEvidenceError(
            f"{field.name} must be true or false, not {raw!r}",
            field=where,
            plain=say("{label} must be yes or no, not {raw}.", label=_label(field), raw=repr(raw)),
        )
    if not isinstance(raw, str):
        raise InvalidEvidenceError(
            f"{field.name} must be text",
            field=where,
            plain=say("{label} must be text.", label=_label(field)),
        )
    text = raw.strip()
    if len(text) > 4000:
        raise InvalidEvidenceError(
            f"{field.name} is longer than 4000 characters",
            field=where,
            plain=say("{label} is longer than 4000 characters.", label=_label(field)),
        )
    if field.type == "choice" and text not in (field.choices or ()):
        raise InvalidEvidenceError(
            f"{field.name} must be one of: {', '.join(field.choices or ())}",
            field=where,
            plain=say(
                "{label} must be one of: {choices}.",
                label=_label(field),
                choices=", ".join(field.choices or ()),
            ),
        )
    if field.type == "date":
        try:
            date.fromisoformat(text)
        except ValueError:
            raise InvalidEvidenceError(
                f"{field.name} must be a date like 2026-07-04, not {text!r}",
                field=where,
                plain=say(
                    "{label} must be a date like 2026-07-04, not {text}.",
                    label=_label(field),
                    text=repr(text),
                ),
            ) from None
    return text


def _label(field: EvidenceField) -> str:
    """How the form labels the field (its name in words when the playbook gives none)."""
    return field.label or words(field.name).capitalize()


def _check_range(
    field: EvidenceField,
    value: float,
    evidence: dict[str, Any],
    unless: EvidenceField | None = None,
) -> None:
    where = f"evidence.{field.name}"
    if field.min is not None and value < field.min:
        raise InvalidEvidenceError(
            f"{field.name} must be at least {field.min:g}",
            field=where,
            plain=say(
                "{label} must be at least {min}.", label=_label(field), min=format(field.min, "g")
            ),
        )
    if field.max is not None and value > field.max:
        if field.unless is not None and evidence.get(field.unless) is True:
            return
        why = f"{field.name} {value:g} is above the limit of {field.max:g}"
        plain = f"{_label(field)}: {value:g} is above the limit of {field.max:g}"
        if field.help:
            why += f" ({field.help})"
            plain += f" ({field.help})"
        if field.unless is not None:
            why += f"; allowed only with {field.unless} set to true"
            plain += f"; allowed only with “{_label(unless)}” ticked" if unless else ""
        raise InvalidEvidenceError(why, field=where, plain=plain + ".")
