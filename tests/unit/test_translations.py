"""The staff pages' catalogs: every word the templates and the marked Python texts show has
a Danish and an Indonesian translation, with the same placeholders and markup; the browser's
Accept-Language picks the language; refusals are said in the viewer's language."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.frontend import CommandLineInterface
from babel.messages.pofile import read_po

from recovery.domain.words import localize, role_title, say, say_list
from recovery.http.web.translations import (
    LOCALE_DIR,
    choose_locale,
    from_accept_language,
    translate,
    translations,
    untranslated,
)

ROOT = Path(__file__).resolve().parents[2]
PLACEHOLDERS = re.compile(r"%\([a-z_]+\)s|\{[a-z_]+\}|</?[a-z]+[^>]*>")


@pytest.fixture(scope="module")
def extracted(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """The msgids of the code as it is now (what `make catalogs` extracts)."""
    pot = tmp_path_factory.mktemp("pot") / "messages.pot"
    config = str(ROOT / "babel.cfg")
    CommandLineInterface().run(
        [
            "pybabel",
            "-q",
            "extract",
            "-F",
            config,
            "-k",
            "say",
            "-k",
            "N_",
            "-o",
            str(pot),
            str(ROOT),
        ]
    )
    with pot.open("rb") as found:
        return [str(m.id) for m in read_po(found) if m.id]


@pytest.mark.parametrize("locale", ["da", "id"])
def test_every_word_of_the_pages_is_translated(extracted: list[str], locale: str) -> None:
    assert len(extracted) > 300  # the templates were read, not an empty extraction
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=locale)
    missing = [msgid for msgid in extracted if msgid not in catalog or not catalog[msgid].string]
    assert not missing, f"{locale}: run `make catalogs` and translate: {missing[:10]}"
    assert untranslated([locale]) == {locale: []}  # nor fuzzy nor empty


@pytest.mark.parametrize("locale", ["da", "id"])
def test_translations_keep_placeholders_and_markup(locale: str) -> None:
    with (LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po").open("rb") as po:
        catalog = read_po(po, locale=locale)
    for message in catalog:
        if not message.id:
            continue
        english = sorted(PLACEHOLDERS.findall(str(message.id)))
        local = sorted(PLACEHOLDERS.findall(str(message.string)))
        assert english == local, f"{locale}: {message.id!r} -> {message.string!r}"


def test_the_catalogs_compile_from_the_po_files() -> None:
    assert translate("da", "Open incidents") == "Åbne sager"
    assert translate("id", "Open incidents") == "Kasus terbuka"
    assert translate("en", "Open incidents") == "Open incidents"
    assert translations("da").gettext("no such words") == "no such words"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("da-DK,da;q=0.9,en-US;q=0.8,en;q=0.7", "da"),
        ("id-ID,id;q=0.9", "id"),
        ("en-GB,en;q=0.9", "en"),
        ("fr-FR,de;q=0.9", None),
        ("fr;q=1, id;q=0.4, da;q=0.5", "da"),  # by quality, not by order
        ("da;q=0, id", "id"),  # q=0: not wanted
        ("*", None),
        ("", None),
        (None, None),
        ("da;q=abc, ;;;, ===, " + "x" * 5000, None),  # odd or huge: no error, no match
    ],
)
def test_the_browser_language_is_negotiated(header: str | None, expected: str | None) -> None:
    assert from_accept_language(header) == expected


def test_a_chosen_language_wins_over_the_browser_and_english_is_the_fallback() -> None:
    assert choose_locale("id", "da-DK,da") == "id"
    assert choose_locale(None, "da-DK,da") == "da"
    assert choose_locale(None, "fr") == "en"
    assert choose_locale("xx", None) == "en"


def test_a_refusal_is_said_in_the_viewers_language_with_its_parts_translated() -> None:
    refusal = say(
        "Only a manager may {verb}; the {who} may not.",
        verb=say("waive a step"),
        who=role_title("front_desk"),
    )
    assert refusal == "Only a manager may waive a step; the front desk may not."  # the API's
    assert localize(refusal, translations("da").gettext) == (
        "Kun en leder må fravige et trin; reception må ikke."
    )
    assert localize(refusal, translations("id").gettext) == (
        "Hanya manajer yang boleh membebaskan langkah; resepsionis tidak boleh."
    )
    listed = say("You can: {allowed}.", allowed=say_list([say("hand off"), "Room 12"], "; "))
    assert (
        localize(listed, lambda m: {"hand off": "overdrage"}.get(m, m))
        == "You can: overdrage; Room 12."
    )
    assert localize("plain text", translations("da").gettext) == "plain text"


def test_a_translation_with_wrong_placeholders_falls_back_to_english() -> None:
    refusal = say("{label} must be text.", label="Hotel")
    assert localize(refusal, lambda msgid: "{nothing} here") == "Hotel must be text."
