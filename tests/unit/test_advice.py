"""Tests of groomwatch.advice: packaged guidance, overrides, contacts, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from groomwatch.advice import (
    AUDIENCES,
    Contact,
    Step,
    WarningSign,
    countries,
    emergency_contacts,
    next_steps,
    protective_measures,
    signs_for_tactics,
    source_title,
    warning_signs,
)
from groomwatch.detect.tactics import TACTIC_NAMES
from groomwatch.errors import InputError


def _write(tmp_path: Path, text: str, name: str = "override.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("audience", AUDIENCES)
def test_next_steps_are_complete_for_each_audience(audience: str) -> None:
    steps = next_steps(audience)  # type: ignore[arg-type]
    assert len(steps) >= 5
    assert all(isinstance(s, Step) and s.title and s.text and s.source for s in steps)
    keys = [s.key for s in steps]
    assert len(keys) == len(set(keys))


def test_parent_steps_cover_the_seed_advice() -> None:
    keys = [s.key for s in next_steps("parent")]
    for key in (
        "dont_panic",
        "keep_evidence",
        "block_contact",
        "talk_to_child",
        "report",
        "dont_forward_images",
    ):
        assert key in keys
    talk = next(s for s in next_steps() if s.key == "talk_to_child")
    assert "internet" in talk.text  # they will not lose their internet access
    assert talk.source == "peru_net"


def test_platform_steps_include_review_and_reporting() -> None:
    keys = {s.key for s in next_steps("platform")}
    assert {"preserve_evidence", "restrict_contact", "human_review", "report_authority"} <= keys


def test_unknown_audience_is_a_clear_error() -> None:
    with pytest.raises(InputError, match="audience"):
        next_steps("teacher")  # type: ignore[arg-type]


def test_warning_signs_behaviour_and_conversation_clues() -> None:
    behaviour = warning_signs("behaviour")
    clues = warning_signs("conversation")
    assert {s.key for s in behaviour} >= {
        "excessive_computer_use",
        "unexplained_gifts",
        "secretive_device_use",
        "sexual_language",
        "fewer_friends",
    }
    assert all(isinstance(s, WarningSign) and s.guidance for s in behaviour + clues)
    # Every tactic has at least one plain-language clue, and every clue names real tactics.
    named = {t for s in warning_signs() for t in s.tactics}
    assert named <= set(TACTIC_NAMES)
    covered = {t for s in clues for t in s.tactics}
    assert covered == set(TACTIC_NAMES) - {"victim_age_signal"}
    assert warning_signs() == behaviour + clues or set(warning_signs()) == set(behaviour + clues)


def test_signs_for_tactics() -> None:
    signs = signs_for_tactics(["secrecy", "meeting"])
    assert [s.key for s in signs] == ["clue_secrecy", "clue_meeting"]
    assert signs_for_tactics([]) == ()


def test_every_source_has_a_title() -> None:
    for s in (*next_steps(), *warning_signs(), *protective_measures()):
        assert source_title(s.source) != s.source


def test_protective_measures() -> None:
    keys = {m.key for m in protective_measures()}
    assert {"no_personal_details", "never_meet_online_only", "privacy_settings"} <= keys


def test_emergency_contacts_cambodia_from_the_seed() -> None:
    phones = {c.phone for c in emergency_contacts("KH")}
    assert {"1288", "092 311 511"} <= phones
    assert emergency_contacts("kh") == emergency_contacts("KH")


def test_emergency_contacts_default_and_unknown_country() -> None:
    default = emergency_contacts()
    assert {"112", "116 111"} <= {c.phone for c in default}
    assert emergency_contacts("ZZ") == default
    assert all(isinstance(c, Contact) and (c.phone or c.url) for c in default)
    assert {"KH", "GB", "US", "FR", "ES", "LU", "INT"} <= set(countries())
    assert default[0].to_dict()["country"] == "INT"


def test_bad_country_code() -> None:
    with pytest.raises(InputError, match="country"):
        emergency_contacts("Cambodia")


def test_contacts_override_replaces_a_country(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "countries:\n  KH:\n    - {name: Local NGO, phone: '012 345', kind: hotline}\n"
        "  NZ:\n    - {name: Emergency, phone: '111', kind: emergency}\n",
    )
    assert [c.name for c in emergency_contacts("KH", path)] == ["Local NGO"]
    assert emergency_contacts("NZ", path)[0].phone == "111"
    assert emergency_contacts("GB", path) == emergency_contacts("GB")


def test_contacts_override_needs_phone_or_url(tmp_path: Path) -> None:
    path = _write(tmp_path, "countries:\n  KH:\n    - {name: Nobody, kind: hotline}\n")
    with pytest.raises(InputError, match="neither phone nor url") as info:
        emergency_contacts("KH", path)
    assert str(path) in str(info.value)


def test_contacts_override_bad_kind_names_file_and_field(tmp_path: Path) -> None:
    path = _write(tmp_path, "countries:\n  KH:\n    - {name: X, phone: '1', kind: friend}\n")
    with pytest.raises(InputError) as info:
        emergency_contacts("KH", path)
    message = str(info.value)
    assert str(path) in message
    assert "countries.KH.0.kind" in message


def test_advice_override_replace_disable_add(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
sources:
  our_ngo: Our NGO's guidance
steps:
  parent:
    - key: dont_panic
      title: Stay calm
    - key: no_more_images_or_money
      disabled: true
    - key: call_us
      title: Call our helpline
      text: Our counsellors can help you decide what to do.
      source: our_ngo
""",
    )
    steps = next_steps("parent", path=path)
    keys = [s.key for s in steps]
    assert keys[0] == "dont_panic"
    assert steps[0].title == "Stay calm"
    assert steps[0].text == next_steps("parent")[0].text  # fields not given are kept
    assert "no_more_images_or_money" not in keys
    assert keys[-1] == "call_us"
    assert source_title("our_ngo", path=path) == "Our NGO's guidance"
    # The packaged default is untouched.
    assert next_steps("parent")[0].title == "Do not panic"


def test_advice_override_new_entry_must_be_complete(tmp_path: Path) -> None:
    path = _write(tmp_path, "protective_measures:\n  - key: new_thing\n    title: Only a title\n")
    with pytest.raises(InputError) as info:
        protective_measures(path=path)
    assert str(path) in str(info.value)
    assert "protective_measures.9.text" in str(info.value)


def test_advice_override_unknown_source(tmp_path: Path) -> None:
    path = _write(tmp_path, "steps:\n  hotline:\n    - key: refer\n      source: nowhere\n")
    with pytest.raises(InputError, match="nowhere"):
        next_steps("hotline", path=path)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("steps: [1, 2", "not valid YAML"),
        ("- a list", "mapping at the top level"),
        ("steps:\n  teacher: []\n", "steps.teacher: unknown audience"),
        ("colours: {}\n", "colours: unknown section"),
        ("warning_signs:\n  - {key: excessive_computer_use, disabled: maybe}\n", "disabled"),
    ],
)
def test_advice_override_errors(tmp_path: Path, text: str, fragment: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(InputError, match=fragment) as info:
        warning_signs(path=path)
    assert str(path) in str(info.value)


def test_missing_override_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        next_steps(path=tmp_path / "absent.yaml")


def test_to_dict_round_trip_shapes() -> None:
    step = next_steps()[0]
    assert step.to_dict() == {
        "key": step.key,
        "title": step.title,
        "text": step.text,
        "source": step.source,
    }
    sign = warning_signs("conversation")[0]
    assert sign.to_dict()["tactics"] == list(sign.tactics)


@pytest.mark.parametrize("language", ["es", "fr"])
def test_translations_cover_the_public_guidance(language: str) -> None:
    from groomwatch.advice import advice_languages

    assert language in advice_languages()
    english = {s.key: s for s in (*next_steps("parent"), *protective_measures(), *warning_signs())}
    translated = (
        *next_steps("parent", language=language),
        *protective_measures(language=language),
        *warning_signs(language=language),
    )
    assert [s.key for s in translated] == list(english)  # same entries, same order
    for item in translated:
        # Every public entry is translated; sources and tactic links are kept.
        assert item.text != english[item.key].text, item.key
        assert item.source == english[item.key].source
    signs = signs_for_tactics(["secrecy"], language=language)
    assert [s.key for s in signs] == ["clue_secrecy"]
    assert signs[0].tactics == ("secrecy",)
    # Professional steps fall back to English.
    assert next_steps("platform", language=language) == next_steps("platform")


def test_unknown_advice_language() -> None:
    with pytest.raises(InputError, match="no advice in 'de'"):
        next_steps(language="de")


def test_deployer_override_applies_on_top_of_a_translation(tmp_path: Path) -> None:
    path = _write(tmp_path, "steps:\n  parent:\n    - key: dont_panic\n      title: Calma\n")
    steps = next_steps("parent", path=path, language="es")
    assert steps[0].title == "Calma"
    assert steps[1].title == "Guarde las pruebas"
