"""What a page can fail with: each becomes an error page (see `responses.WebRoute`) that
says what happened and what to do, never a stack trace."""

from __future__ import annotations

from recovery.domain.words import say
from recovery.http.web.translations import N_


class NotSignedIn(Exception):
    """No live session: the page sends the person to the sign-in form."""


class PageError(Exception):
    """A page that cannot be shown, with the status and what to tell the person."""

    def __init__(self, status: int, title: str, message: str) -> None:
        self.status = status
        self.title = title
        self.message = message
        super().__init__(message)


# What a "not found" page can be about (the words are in the catalogs).
THINGS = {
    "page": say("page"),
    "customer": say("customer"),
    "export": say("export"),
    "incident or playbook": say("incident or playbook"),
    "incident": say("incident"),
    "property": say("property"),
    "token": say("token"),
    "user": say("user"),
}


def not_found(what: str = "page") -> PageError:
    return PageError(
        404,
        N_("Not found"),
        say(
            "There is no such {what}, or it is not at one of your properties.",
            what=THINGS.get(what, what),
        ),
    )


class BadForm(Exception):
    """A form that cannot be read as sent (the message says which field and why)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        self.field = field
        super().__init__(message)


class CsrfError(Exception):
    pass
