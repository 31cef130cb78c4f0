"""The registry's remembered "viable cues per set of cue words" gives the findings that every
tactic finds on its own, whether the list was remembered or computed for this message."""

from __future__ import annotations

import itertools

from groomwatch.detect.tactics import default_registry, prepare
from groomwatch.detect.tactics.base import Finding, TacticRegistry


def _each_tactic(registry: TacticRegistry, text: str, index: int, author: str) -> list[Finding]:
    return [f for tactic in registry for f in tactic.find(text, index, author)]


def _texts(registry: TacticRegistry) -> list[str]:
    single = [t for tactic in registry for t in (*tactic.examples, *tactic.counter_examples)]
    # pairs of examples in one message: several tactics, cue words of one helping another
    pairs = [f"{a} and {b}" for a, b in itertools.pairwise(single)]
    return [*single, *pairs, "", "ok", "lol see you tomorrow", "Don\u2019t TELL anyone, OK?"]


def test_registry_equals_every_tactic_alone_cold_and_warm() -> None:
    registry = default_registry()
    texts = _texts(registry)
    assert len(texts) > 100
    for _round in ("cold", "warm"):
        for i, text in enumerate(texts):
            expected = _each_tactic(registry, text, i, "u1")
            assert registry.find(text, i, "u1") == expected, text
            assert registry.find_prepared(prepare(text), i, "u1") == expected, text
    assert any(_each_tactic(registry, t, 0, "u1") for t in texts)


def test_adding_a_tactic_forgets_remembered_cues() -> None:
    registry = default_registry()
    text = "add me on snapchat"
    before = registry.find(text, 0)
    assert before
    fresh = TacticRegistry()
    for tactic in registry:
        if tactic.name != before[0].tactic:
            fresh.add(tactic)
    assert all(f.tactic != before[0].tactic for f in fresh.find(text, 0))
    fresh.add(registry.get(before[0].tactic))
    assert fresh.find(text, 0) == [
        f for t in fresh for f in t.find(text, 0)
    ]  # the added tactic's cues are tried now
    assert any(f.tactic == before[0].tactic for f in fresh.find(text, 0))
