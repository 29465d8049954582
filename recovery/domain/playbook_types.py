"""The value types a playbook file is written in: strict models (no silent coercion),
codes, labels and bounded amounts, shared by the playbook model and its translations."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

# Amounts, limits and evidence bounds in a playbook (the API's evidence bound too).
MAX_AMOUNT = 1e12

Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=64)]
Slug = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_.-]*$", max_length=80)]
Language = Annotated[str, Field(pattern=r"^[a-z]{2}$")]


class _Strict(BaseModel):
    # strict: `max_amount: true` or `version: "2"` is a mistake, not a 1 or a 2
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


Amount = Annotated[float, Field(ge=-MAX_AMOUNT, le=MAX_AMOUNT, allow_inf_nan=False)]
Label = Annotated[str, Field(max_length=200)]
Prose = Annotated[str, Field(max_length=4000)]


__all__ = ["MAX_AMOUNT", "Amount", "Identifier", "Label", "Language", "Prose", "Slug"]
