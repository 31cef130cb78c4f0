"""The shared checks every registered tactic gets for free (python-threatexchange's
``SignalTypeAutoTest`` idea): metadata, its own examples found with a correct evidence span, its
counter-examples left alone, and the registry's prefilter giving the same answers as the tactic."""

from __future__ import annotations

import re

import pytest

from groomwatch.detect.tactics import (
    TACTIC_CLASSES,
    TACTIC_NAMES,
    Finding,
    Tactic,
    TacticRegistry,
    default_registry,
    prepare,
)

DESIGN_ORDER = (
    "trust_building",
    "age_or_identity_deception",
    "personal_information",
    "secrecy",
    "isolation",
    "gifts_and_money",
    "platform_switch",
    "image_request",
    "sexualisation",
    "meeting",
    "extortion",
    "victim_age_signal",
)


@pytest.fixture(scope="module")
def registry() -> TacticRegistry:
    return default_registry()


@pytest.fixture(params=TACTIC_NAMES)
def tactic(request: pytest.FixtureRequest, registry: TacticRegistry) -> Tactic:
    return registry.get(request.param)


class TestEveryTactic:
    """Runs once per registered tactic."""

    def test_metadata(self, tactic: Tactic) -> None:
        assert re.fullmatch(r"[a-z][a-z_]*", tactic.name)
        assert tactic.title
        assert tactic.title[0].isupper()
        assert len(tactic.description) >= 80
        assert len(tactic.examples) >= 3
        assert len(tactic.counter_examples) >= 2
        assert set(tactic.examples).isdisjoint(tactic.counter_examples)
        described = tactic.describe()
        assert described["name"] == tactic.name
        assert described["examples"] == list(tactic.examples)

    def test_has_cues_with_ids_and_anchors(self, tactic: Tactic) -> None:
        assert tactic.cues, "a tactic needs at least one cue"
        ids = [cue.id for cue in tactic.cues]
        assert len(ids) == len(set(ids))
        for cue in tactic.cues:
            assert 0.0 < cue.weight <= 1.0
            assert cue.anchors, f"{tactic.name}/{cue.id} has no anchors (it would run everywhere)"
        assert tactic.anchors

    def test_examples_are_found_with_their_evidence(
        self, tactic: Tactic, registry: TacticRegistry
    ) -> None:
        for example in tactic.examples:
            found = tactic.find(example, 7, "u1")
            assert len(found) == 1, example
            f = found[0]
            assert f.tactic == tactic.name
            assert f.message == 7
            assert f.author == "u1"
            assert 0.0 < f.score <= 1.0
            assert f.evidence
            assert example[f.start : f.end] == f.evidence
            assert f.cue is not None
            assert f.cue.startswith(tactic.name + "/")
            via_registry = [x for x in registry.find(example, 7, "u1") if x.tactic == tactic.name]
            assert via_registry == found, example

    def test_counter_examples_are_not_found(self, tactic: Tactic, registry: TacticRegistry) -> None:
        for text in tactic.counter_examples:
            assert tactic.find(text, 0) == [], text
            assert tactic.name not in {f.tactic for f in registry.find(text, 0)}, text

    def test_examples_survive_chat_spelling(self, tactic: Tactic) -> None:
        # Upper case and typographic apostrophes must not change what is found.
        for example in tactic.examples:
            shouted = example.upper().replace("'", "\u2019")
            found = tactic.find(shouted, 0)
            assert found, shouted
            assert shouted[found[0].start : found[0].end] == found[0].evidence

    def test_anchors_are_sound_on_every_example(self, tactic: Tactic) -> None:
        # A pattern that matches a text must have one of its anchors (and of its `also` words)
        # in that text, or the prefilter would hide the match.
        texts = [t for cls in TACTIC_CLASSES for t in (*cls.examples, *cls.counter_examples)]
        for text in texts:
            p = prepare(text)
            for cue in tactic.cues:
                if cue.pattern.search(p.lower):
                    assert not cue.anchors.isdisjoint(p.tokens), (cue.id, text)
                    assert not cue.also or not cue.also.isdisjoint(p.tokens), (cue.id, text)


def test_registry_holds_the_twelve_tactics_in_design_order(registry: TacticRegistry) -> None:
    assert TACTIC_NAMES == DESIGN_ORDER
    assert registry.names == DESIGN_ORDER
    assert len(registry) == 12
    assert "secrecy" in registry
    assert [t.name for t in registry] == list(DESIGN_ORDER)


def test_registry_rejects_duplicates_and_unknown_names(registry: TacticRegistry) -> None:
    fresh = TacticRegistry()
    fresh.add(registry.get("secrecy"))
    with pytest.raises(ValueError, match="registered twice"):
        fresh.add(registry.get("secrecy"))
    with pytest.raises(KeyError, match="unknown tactic 'grooming'"):
        registry.get("grooming")


def test_registry_rejects_a_tactic_without_metadata() -> None:
    class Nameless(Tactic):
        name = "nameless"
        title = "Nameless"
        description = ""
        examples = ("x",)

    with pytest.raises(ValueError, match="no description"):
        TacticRegistry().add(Nameless())


def test_default_registry_is_cached() -> None:
    assert default_registry() is default_registry()
    assert default_registry(languages=["en"]) is default_registry()


def test_ordinary_chat_finds_nothing(registry: TacticRegistry) -> None:
    ordinary = [
        "hey whats up",
        "lol that game was so fun",
        "did u finish the math homework",
        "my dog ate my sandwich",
        "see you at practice tomorrow",
        "i like that song a lot",
        "what time is it there",
        "",
    ]
    for text in ordinary:
        assert registry.find(text, 0) == [], text


def test_one_message_with_several_tactics(registry: TacticRegistry) -> None:
    text = "dont tell your mom, its our secret. send me a pic"
    found = registry.find(text, 3, "adult")
    assert [f.tactic for f in found] == ["secrecy", "image_request"]
    secrecy = found[0]
    # Two secrecy cues matched: the score combines them and is above either weight alone.
    assert secrecy.score > max(
        c.weight for c in registry.get("secrecy").cues if c.id == "dont_tell"
    )


def test_find_all_numbers_messages(registry: TacticRegistry) -> None:
    found = registry.find_all(["hi", "add me on snap", "ok"], ["a", "b", "a"])
    assert [(f.message, f.tactic, f.author) for f in found] == [(1, "platform_switch", "b")]
    assert registry.find_all(["im 13"])[0].age == 13


def test_finding_to_dict_is_backward_compatible() -> None:
    plain = Finding(tactic="secrecy", message=2, score=0.812345, evidence="dont tell", end=9)
    assert plain.to_dict() == {
        "tactic": "secrecy",
        "message": 2,
        "score": 0.8123,
        "evidence": "dont tell",
        "start": 0,
        "end": 9,
    }
    aged = Finding(
        tactic="victim_age_signal", message=0, score=0.95, evidence="im 13", cue="x/y", age=13
    )
    assert aged.to_dict()["age"] == 13
    assert aged.to_dict()["cue"] == "x/y"
