"""The tactics on the shared VTPAN dev segments (read in place, never copied): the prefilter never
hides a match, and the tactics stay discriminative (they are model features)."""

from __future__ import annotations

from pathlib import Path

import pytest

from groomwatch.detect.tactics import default_registry, prepare
from groomwatch.detect.tactics.rates import firing_rates, markdown_table, read_segments
from groomwatch.errors import InputError


@pytest.fixture(scope="module")
def segments(shared_data: Path) -> list[tuple[str, int]]:
    return read_segments(shared_data / "vtpan-segments-dev.csv")


def test_anchors_never_hide_a_match(segments: list[tuple[str, int]]) -> None:
    registry = default_registry()
    for text, _ in segments[::6]:
        p = prepare(text)
        for tactic in registry:
            for cue in tactic.cues:
                if cue.pattern.search(p.lower):
                    assert not cue.anchors.isdisjoint(p.tokens), f"{tactic.name}/{cue.id}"
                    assert not cue.also or not cue.also.isdisjoint(p.tokens), (
                        f"{tactic.name}/{cue.id}"
                    )


@pytest.mark.slow
def test_tactics_are_discriminative(segments: list[tuple[str, int]]) -> None:
    rates = {r.tactic: r for r in firing_rates(default_registry(), segments)}
    assert rates["meeting"].positives == 148
    # Clear grooming tactics fire several times more often in predator conversations.
    for name in ("trust_building", "secrecy", "meeting", "gifts_and_money"):
        r = rates[name]
        assert r.rate_pos > 0.02, name
        assert r.rate_pos > 3 * r.rate_neg, name
    for name in ("personal_information", "platform_switch", "image_request", "sexualisation"):
        assert rates[name].strong_rate_pos > 1.5 * rates[name].strong_rate_neg, name
    # Strong findings of the core tactics stay rare in ordinary chat.
    for name in ("trust_building", "secrecy", "meeting", "gifts_and_money", "extortion"):
        assert rates[name].strong_rate_neg < 0.05, name
    table = markdown_table(list(rates.values()))
    assert table.count("\n") == 13


def test_read_segments_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("segment,label\nhello,2\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"line 2, field label"):
        read_segments(bad)
    bad.write_text("text,y\nhello,1\n", encoding="utf-8")
    with pytest.raises(InputError, match="columns segment and label"):
        read_segments(bad)


def test_rates_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from groomwatch.detect.tactics.rates import main

    data = tmp_path / "segments.csv"
    data.write_text(
        "segment,label\n"
        '"hey, dont tell your mom, its our secret",1\n'
        '"we should meet up sometime",1\n'
        '"lol the game was fun",0\n',
        encoding="utf-8",
    )
    assert main([str(data)]) == 0
    out = capsys.readouterr().out
    assert "| secrecy | 1 (50.0%) | 0 (0.0%) |" in out
    assert "| meeting | 1 (50.0%) | 0 (0.0%) |" in out
    assert "dont tell" not in out  # counts only, never text
    assert main([]) == 2
    assert main([str(tmp_path / "absent.csv")]) == 2
    assert "cannot read" in capsys.readouterr().err
