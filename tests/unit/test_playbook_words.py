"""A playbook's words for staff in other languages: what an author may write, the clear
error when a translation names a field or language the playbook does not have, and how the
pages, the timeline and the notices say them (English as the fallback, and for the API)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from recovery.catalog import load_file
from recovery.domain.compiler import compile_playbook, playbook_digest
from recovery.domain.said import Said, localize, said_from_data, said_to_data, say, say_list
from recovery.domain.validation import validate_playbook
from recovery.domain.validation_words import missing_translations
from recovery.errors import PlaybookError, Problem
from recovery.letters.staff_words import staff_say
from tests.unit.test_playbooks import SHIPPED, playbook, with_step

DA = {
    "title": "Ret det",
    "description": "Ret fejlen, mens kunden venter.",
    "labels": {"what": "Hvad der blev rettet"},
    "help": {"what": "kort"},
}


def translated(**changes: Any) -> dict[str, Any]:
    """The base playbook with a Danish and an Indonesian step 1 and playbook title."""
    data = with_step(
        1,
        description="Fix the fault while the customer waits.",
        translations={
            "da": copy.deepcopy(DA),
            "id": {"title": "Perbaiki", "labels": {"what": "Yang diperbaiki"}},
        },
    )
    data["steps"][1]["evidence"][0]["help"] = "short"
    data["translations"] = {"da": {"title": "Testplaybook"}, "id": {"title": "Playbook uji"}}
    data.update(changes)
    return data


def problems_in(tmp_path: Path, data: dict[str, Any]) -> list[Problem]:
    path = tmp_path / "words.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(PlaybookError) as caught:
        load_file(path)
    return caught.value.problems


def test_a_label_for_a_field_the_step_does_not_have_is_a_located_error(tmp_path: Path) -> None:
    data = translated()
    data["steps"][1]["translations"]["da"]["labels"] = {"wat": "Hvad"}
    (problem,) = problems_in(tmp_path, data)
    assert problem.source == str(tmp_path / "words.yaml")
    assert problem.location == "steps[1].translations.da.labels.wat"
    assert "no evidence field 'wat'" in problem.message and "what" in problem.message
    assert "(line " in problem.message  # where in the file
    assert "words.yaml: steps[1].translations.da.labels.wat:" in str(problem)


def test_an_unknown_language_is_a_located_error(tmp_path: Path) -> None:
    data = translated()
    data["steps"][0]["translations"] = {"de": {"title": "Entschuldigen"}}
    data["translations"]["fr"] = {"title": "Manuel"}
    problems = problems_in(tmp_path, data)
    where = {p.location: p.message for p in problems}
    assert "unknown language 'de'" in where["steps[0].translations.de"]
    assert "da, id" in where["steps[0].translations.de"]
    assert "unknown language 'fr'" in where["translations.fr"]


def test_a_translated_choice_must_be_one_of_the_fields_choices(tmp_path: Path) -> None:
    data = with_step(
        1,
        evidence=[{"name": "via", "type": "choice", "choices": ["phone", "email"]}],
        translations={"da": {"choices": {"via": {"phone": "telefon", "fax": "fax"}}}},
    )
    (problem,) = problems_in(tmp_path, data)
    assert problem.location == "steps[1].translations.da.choices.via.fax"
    assert "'fax' is not one of the choices of 'via'" in problem.message


def test_labels_of_the_lifecycles_own_fields_may_be_translated() -> None:
    data = playbook()
    data["steps"].append(
        {
            "id": "letter",
            "kind": "written",
            "title": "Write",
            "owner": "front_desk",
            "due": "1d",
            "translations": {"da": {"labels": {"recipient": "Modtager"}}},
        }
    )
    compiled = compile_playbook(validate_playbook(data, "p.yaml"))
    label = compiled.said.label("letter", "recipient")
    assert label == "Send to (e-mail address)"  # English for the API and the CLI
    assert staff_say("da", label) == "Modtager"  # the playbook's own word wins
    assert staff_say("id", label) != label  # else the staff catalogs' translation


def test_the_compiled_words_are_said_in_each_language_english_as_the_fallback() -> None:
    compiled = compile_playbook(validate_playbook(translated(), "p.yaml"))
    said = compiled.said
    title = said.step_title("fix_it")
    assert isinstance(title, Said) and title == "Fix it"
    assert [staff_say(lang, title) for lang in ("en", "da", "id")] == [
        "Fix it",
        "Ret det",
        "Perbaiki",
    ]
    assert staff_say("da", said.label("fix_it", "what")) == "Hvad der blev rettet"
    assert staff_say("id", said.help("fix_it", "what") or "") == "short"  # no id help: English
    assert staff_say("da", said.step_descriptions["fix_it"]) == DA["description"]
    assert staff_say("id", said.step_title("apologise")) == "Apologise"  # not translated
    assert staff_say("da", said.title) == "Testplaybook"
    assert said.label("fix_it", "nothing") == "Nothing"  # a field with no label: its name


def test_words_survive_the_trip_through_json_bounded() -> None:
    compiled = compile_playbook(validate_playbook(translated(), "p.yaml"))
    data = said_to_data(compiled.said.step_title("fix_it"))
    back = said_from_data(data)
    assert back == "Fix it" and localize(back, lambda m: m, "da") == "Ret det"
    hostile = {"text": "x" * 10_000, "local": {f"l{i}": "y" * 9000 for i in range(50)}}
    kept = said_from_data(hostile)
    assert len(kept) == 4000 and len(kept.local) == 10


def test_staff_translations_change_no_digest_customer_texts_do() -> None:
    plain = validate_playbook(playbook(), "p.yaml")
    words = validate_playbook(translated(), "p.yaml")
    bare = copy.deepcopy(translated())
    bare.pop("translations")
    for step in bare["steps"]:
        step.pop("translations", None)
    assert playbook_digest(words) == playbook_digest(validate_playbook(bare, "p.yaml"))
    assert playbook_digest(plain) != playbook_digest(words)  # (the description is a rule text)
    told = translated()
    told["steps"][1]["translations"]["da"].update(
        customer_text="Vi rettede det.", customer_next="Vi retter det."
    )
    assert playbook_digest(validate_playbook(told, "p.yaml")) != playbook_digest(words)


def test_missing_translations_are_warnings_and_the_shipped_playbooks_have_none() -> None:
    warnings = missing_translations(validate_playbook(playbook(), "p.yaml"), "p.yaml")
    where = {w.location: w.message for w in warnings}
    assert "no 'da' title" in where["translations.da.title"]
    assert "labels.what" in where["steps[1].translations.id"]
    assert missing_translations(validate_playbook(translated(), "p.yaml"), "p.yaml") != []
    for path in SHIPPED:
        assert missing_translations(load_file(path), str(path)) == [], path.name


def test_teams_and_cues_are_named_per_language_only_when_the_playbook_has_them(
    tmp_path: Path,
) -> None:
    data = translated(
        roles=["loyalty_team"],
        cue_rules=[{"id": "upset", "when": {"cues_any": ["upset"]}, "raise_tier_to": 2}],
    )
    data["translations"]["da"].update(
        roles={"loyalty_team": "loyalitetsteamet"}, cues={"upset": "utilfreds"}
    )
    compiled = compile_playbook(validate_playbook(data, "p.yaml"))
    assert compiled.said.role("loyalty_team") == "loyalty team"
    assert staff_say("da", compiled.said.role("loyalty_team")) == "loyalitetsteamet"
    assert staff_say("da", compiled.said.role("front_desk")) == "reception"  # the catalogs'
    assert staff_say("da", compiled.said.cue("upset")) == "utilfreds"
    assert staff_say("id", compiled.said.cue("upset")) == "upset"  # English where none
    data["translations"]["da"].update(roles={"billing_team": "x"}, cues={"angry": "vred"})
    where = {p.location: p.message for p in problems_in(tmp_path, data)}
    assert "not a team this playbook declares" in where["translations.da.roles.billing_team"]
    assert "no cue rule listens for 'angry'" in where["translations.da.cues.angry"]


def test_words_are_copied_and_pickled_as_words() -> None:
    """`dataclasses.asdict` (the CLI's and the API's dicts) deep-copies what it holds."""
    import pickle

    compiled = compile_playbook(validate_playbook(translated(), "p.yaml"))
    title = say_list([compiled.said.step_title("fix_it"), say("done")], ": ")
    for copied in (copy.deepcopy(title), pickle.loads(pickle.dumps(title))):
        assert isinstance(copied, Said) and copied == "Fix it: done"
        assert staff_say("da", copied) == "Ret det: udført"
