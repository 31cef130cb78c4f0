"""Cue files: packaged YAML, deployer overrides (add, replace, disable), clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from groomwatch.detect.tactics import TACTIC_NAMES, available_languages, build_registry
from groomwatch.detect.tactics.cueset import load_cues
from groomwatch.errors import InputError


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cues.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_packaged_english_cues_load() -> None:
    cues = load_cues(TACTIC_NAMES)
    assert set(cues) == set(TACTIC_NAMES)
    assert all(cues[name] for name in TACTIC_NAMES)
    assert "en" in available_languages()


def test_override_adds_a_cue(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
language: en
tactics:
  platform_switch:
    - id: add_me_on_newapp
      weight: 0.9
      anchors: [chatterbox]
      pattern: '\\bchatterbox\\b'
""",
    )
    registry = build_registry(path)
    found = registry.find("lets go to Chatterbox", 0)
    assert [(f.tactic, f.cue) for f in found] == [
        ("platform_switch", "platform_switch/add_me_on_newapp")
    ]
    assert build_registry().find("lets go to Chatterbox", 0) == []


def test_override_replaces_a_weight_and_keeps_the_pattern(tmp_path: Path) -> None:
    path = _write(
        tmp_path, "language: en\ntactics:\n  secrecy:\n    - id: our_secret\n      weight: 0.2\n"
    )
    found = build_registry(path).get("secrecy").find("its our little secret", 0)
    assert found[0].score == pytest.approx(0.2)
    assert found[0].cue == "secrecy/our_secret"


def test_override_disables_a_cue(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "language: en\ntactics:\n  sexualisation:\n    - id: love_you\n      disabled: true\n",
    )
    assert build_registry().find("i love you", 0)
    assert build_registry(path).find("i love you", 0) == []


def test_override_macros(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
language: en
macros:
  app: '(?:chatterbox|talkzone)'
tactics:
  platform_switch:
    - id: new_apps
      weight: 0.8
      anchors: [chatterbox, talkzone]
      pattern: 'on {app}'
""",
    )
    assert build_registry(path).find("see u on talkzone", 0)[0].cue == "platform_switch/new_apps"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("language: en\ntactics: [1, 2", "not valid YAML"),
        ("- just a list\n", "must be a YAML mapping"),
        ("tactics: {}\n", "language"),
        (
            "language: en\ntactics:\n  grooming:\n    - {id: x, weight: 0.5, pattern: 'x'}\n",
            "tactics.grooming: unknown tactic",
        ),
        (
            "language: en\ntactics:\n  secrecy:\n"
            "    - {id: x, weight: 0.5, pattern: '(unclosed'}\n",
            "tactics.secrecy.x.pattern: not a valid regular expression",
        ),
        (
            "language: en\ntactics:\n  secrecy:\n    - {id: x, weight: 1.5, pattern: 'x'}\n",
            "tactics.secrecy.0.weight",
        ),
        (
            "language: en\ntactics:\n  secrecy:\n    - {id: x, weight: 0.5}\n",
            "tactics.secrecy.0.pattern: a new cue ('x') must give a pattern",
        ),
        (
            "language: en\ntactics:\n  secrecy:\n"
            "    - {id: x, weight: 0.5, pattern: '{nomacro}'}\n",
            "tactics.secrecy.x.pattern: unknown macro {nomacro}",
        ),
        (
            "language: en\ntactics:\n  secrecy:\n    - {id: x, weight: 0.5, pattern: 'a?'}\n",
            "matches the empty message",
        ),
        (
            "language: en\ntactics:\n  secrecy:\n"
            "    - {id: x, weight: 0.5, pattern: 'x', anchors: [Two Words]}\n",
            "tactics.secrecy.0.anchors",
        ),
        (
            "language: en\ntactics:\n  secrecy:\n"
            "    - {id: x, weight: 0.5, pattern: 'x', anchors: [x, no]}\n",
            "quote words such as 'yes', 'no'",
        ),
        (
            "language: en\ntactics:\n  secrecy:\n"
            "    - {id: x, weight: 0.5, pattern: 'x', colour: red}\n",
            "tactics.secrecy.0.colour",
        ),
    ],
)
def test_bad_override_names_file_and_field(tmp_path: Path, text: str, fragment: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(InputError) as info:
        build_registry(path)
    message = str(info.value)
    assert str(path) in message
    assert fragment in message


def test_missing_override_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read"):
        build_registry(tmp_path / "absent.yaml")


def test_unknown_language() -> None:
    with pytest.raises(InputError, match="no cues for 'xx'"):
        build_registry(languages=("xx",))
    with pytest.raises(InputError, match="at least one language"):
        build_registry(languages=())


def test_override_can_bring_a_new_language(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
language: en
tactics: {}
---
language: de
tactics:
  secrecy:
    - id: nicht_sagen
      weight: 0.8
      anchors: [sag, sags]
      pattern: '\\bsags?\\s+(?:es\\s+)?niemandem\\b'
""",
    )
    registry = build_registry(path, languages=("en", "de"))
    found = registry.find("sag niemandem was", 0)
    assert found[0].cue == "secrecy/nicht_sagen"
    assert registry.find("dont tell your mom", 0)  # English cues are still there


def test_override_document_for_another_language_is_validated(tmp_path: Path) -> None:
    path = _write(tmp_path, "language: en\ntactics: {}\n---\nlanguage: deu\n")
    with pytest.raises(InputError, match=r"document 2.*language"):
        build_registry(path)
