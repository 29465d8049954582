"""A person's language for the staff pages, on every storage: stored with the user, carried
by their session's principal, changed at once for the next page, and refused when the
pages do not exist in it."""

from __future__ import annotations

import pytest

from recovery import Recovery
from recovery.errors import CommandRejectedError
from recovery.service.accounts import Accounts
from tests.conftest import Clock


def test_a_chosen_language_is_kept_and_the_session_carries_it(rec: Recovery, clock: Clock) -> None:
    accounts = Accounts(rec.storage.accounts, clock)
    accounts.add_user("mette", "right horse", "front_desk", ["ribe"])
    user = accounts.user("mette")
    assert user is not None and user.locale is None  # until chosen: the browser's
    secret, _ = accounts.open_session(user)
    principal = accounts.authenticate(secret)
    assert principal is not None and principal.locale is None

    assert accounts.set_locale("mette", "da")
    assert accounts.user("mette").locale == "da"  # type: ignore[union-attr]
    assert accounts.authenticate(secret).locale == "da"  # type: ignore[union-attr]
    assert Accounts(rec.storage.accounts, clock).authenticate(secret).locale == "da"  # type: ignore[union-attr]

    assert accounts.set_locale("mette", None)
    assert accounts.user("mette").locale is None  # type: ignore[union-attr]
    assert not accounts.set_locale("nobody", "id")


def test_a_language_without_pages_is_refused_by_name(rec: Recovery, clock: Clock) -> None:
    accounts = Accounts(rec.storage.accounts, clock)
    accounts.add_user("wayan", "right horse", "front_desk", ["ribe"])
    with pytest.raises(CommandRejectedError) as refused:
        accounts.set_locale("wayan", "fr")
    assert refused.value.field == "locale"
    assert "en, da, id" in str(refused.value)
    assert accounts.user("wayan").locale is None  # type: ignore[union-attr]
