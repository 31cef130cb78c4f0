"""The twelve grooming tactics of DESIGN.md and the one explicit registry that holds them.

Usage::

    from groomwatch.detect.tactics import default_registry, TACTIC_NAMES
    registry = default_registry()                 # English cues, cached
    for finding in registry.find("dont tell ur mom", index=0, author="u1"):
        print(finding.tactic, finding.score, finding.evidence)

    registry = default_registry(Path("my-cues.yaml"), languages=("en", "es", "fr"))

Tactics are listed here explicitly (no ``__subclasses__()`` discovery); their names are checked
unique when a registry is built. Cues come from ``cues/<language>.yaml``, merged with a deployer's
file (:mod:`groomwatch.detect.tactics.cueset` documents the merge rules).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

from groomwatch.detect.tactics.age_or_identity_deception import AgeOrIdentityDeception
from groomwatch.detect.tactics.base import (
    Cue,
    Finding,
    PreparedText,
    Tactic,
    TacticRegistry,
    prepare,
)
from groomwatch.detect.tactics.cueset import available_languages, load_cues
from groomwatch.detect.tactics.extortion import Extortion
from groomwatch.detect.tactics.gifts_and_money import GiftsAndMoney
from groomwatch.detect.tactics.image_request import ImageRequest
from groomwatch.detect.tactics.isolation import Isolation
from groomwatch.detect.tactics.meeting import Meeting
from groomwatch.detect.tactics.personal_information import PersonalInformation
from groomwatch.detect.tactics.platform_switch import PlatformSwitch
from groomwatch.detect.tactics.secrecy import Secrecy
from groomwatch.detect.tactics.sexualisation import Sexualisation
from groomwatch.detect.tactics.trust_building import TrustBuilding
from groomwatch.detect.tactics.victim_age_signal import VictimAgeSignal

__all__ = [
    "TACTIC_CLASSES",
    "TACTIC_NAMES",
    "Cue",
    "Finding",
    "PreparedText",
    "Tactic",
    "TacticRegistry",
    "available_languages",
    "build_registry",
    "default_registry",
    "prepare",
]

#: Every tactic class, in the order of DESIGN.md's table (the order of findings and features).
TACTIC_CLASSES: tuple[type[Tactic], ...] = (
    TrustBuilding,
    AgeOrIdentityDeception,
    PersonalInformation,
    Secrecy,
    Isolation,
    GiftsAndMoney,
    PlatformSwitch,
    ImageRequest,
    Sexualisation,
    Meeting,
    Extortion,
    VictimAgeSignal,
)

#: The tactic names, in the same order.
TACTIC_NAMES: tuple[str, ...] = tuple(cls.name for cls in TACTIC_CLASSES)


def build_registry(
    cues_path: Path | None = None, languages: Sequence[str] = ("en",)
) -> TacticRegistry:
    """A new registry of the twelve tactics with the cues of ``languages`` (packaged files, merged
    with ``cues_path`` when given). Raises :class:`~groomwatch.errors.InputError` for a bad cue
    file, naming the file and the field."""
    cues = load_cues(TACTIC_NAMES, languages, cues_path)
    registry = TacticRegistry()
    for cls in TACTIC_CLASSES:
        registry.add(cls(cues[cls.name]))
    return registry


@lru_cache(maxsize=8)
def _cached(cues_path: Path | None, languages: tuple[str, ...]) -> TacticRegistry:
    return build_registry(cues_path, languages)


def default_registry(
    cues_path: Path | None = None, languages: Sequence[str] = ("en",)
) -> TacticRegistry:
    """The registry for ``cues_path`` and ``languages``, built once and cached (a changed cues
    file is read again only by :func:`build_registry`)."""
    return _cached(cues_path, tuple(languages))
