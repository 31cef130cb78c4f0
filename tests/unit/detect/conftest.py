"""Fixtures of the detection tests: the shipped detector and the synthetic conversations."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from groomwatch.conversation import Conversation
from groomwatch.detect import Detector


@pytest.fixture(scope="session")
def detector() -> Detector:
    return Detector.load()


@pytest.fixture(scope="session")
def synthetic(fixtures_dir: Path) -> list[Conversation]:
    path = fixtures_dir / "detect" / "conversations.jsonl"
    return [
        Conversation.from_dict(json.loads(line))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


@pytest.fixture(scope="session")
def by_id(synthetic: list[Conversation]) -> dict[str, Conversation]:
    return {c.id: c for c in synthetic}
