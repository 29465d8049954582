"""Voucher and certificate codes: unique, unguessable, easy to read aloud.

`PREFIX-XXXX-XXXX-XXXX`: the playbook's prefix, then `length` symbols drawn with `secrets`
from 32 symbols without the look-alikes 0/O and 1/I (5 bits each: 12 symbols are 60 bits,
so guessing a valid code by trying is hopeless). The `vouchers` table's primary key makes
every code unique; a collision (about one in a billion billion) just draws again.
"""

from __future__ import annotations

import re
import secrets

from recovery.domain.playbook import VOUCHER_ALPHABET, VoucherDef

GROUP = 4


def new_voucher_code(voucher: VoucherDef) -> str:
    symbols = "".join(secrets.choice(VOUCHER_ALPHABET) for _ in range(voucher.length))
    return _grouped(voucher.prefix, symbols)


def _grouped(prefix: str, symbols: str) -> str:
    groups = [symbols[i : i + GROUP] for i in range(0, len(symbols), GROUP)]
    return "-".join([prefix, *groups])


def normalise_code(code: str) -> str:
    """A code as a customer may type it (any case; spaces or dashes between the parts) in
    its stored form: upper case, the prefix, then groups of four."""
    parts = [p for p in re.split(r"[\s\-]+", code.upper()) if p]
    if not parts:
        return ""
    return _grouped(parts[0], "".join(parts[1:]))


def candidate_codes(code: str) -> list[str]:
    """The stored forms a typed code may stand for: as typed with its separators, and,
    when typed without any, each split of a prefix of 1 to 8 characters."""
    candidates = [normalise_code(code)]
    compact = re.sub(r"[\s\-]+", "", code.upper())
    candidates += [_grouped(compact[:k], compact[k:]) for k in range(1, min(8, len(compact)) + 1)]
    return list(dict.fromkeys(c for c in candidates if c))
