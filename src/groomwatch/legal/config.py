"""The legal configuration: frameworks with their age thresholds, the gap that separates two
"occasions", and the cues for facts the tactics do not cover (travel, showing material).

Packaged in ``legal/frameworks.yaml`` and validated with pydantic; a deployer file of the same
shape overrides what it gives (mappings merged key by key; a cue group given replaces the packaged
group). Errors name the file and the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from groomwatch.errors import InputError

__all__ = ["FrameworkConfig", "LegalConfig", "load_legal_config"]

PACKAGED = "groomwatch/legal/frameworks.yaml"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _CueModel(_Model):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_]*$")
    pattern: str = Field(min_length=1)


class _CuesModel(_Model):
    language: str = Field(default="en", pattern=r"^[a-z]{2}$")
    travel: tuple[_CueModel, ...] = ()
    shows_material: tuple[_CueModel, ...] = ()


class _FrameworkModel(_Model):
    title: str = Field(min_length=1)
    child_under: int = Field(ge=10, le=21)
    adult_from: int | None = Field(default=None, ge=14, le=21)


class _FileModel(_Model):
    occasion_gap_hours: float = Field(default=4.0, gt=0, le=24 * 14)
    frameworks: dict[str, _FrameworkModel]
    cues: _CuesModel = _CuesModel()


@dataclass(frozen=True, slots=True)
class FrameworkConfig:
    """One framework's thresholds: the other participant is a child under ``child_under``; the
    suspect is an adult from ``adult_from`` (None: the framework has no adult element)."""

    key: str
    title: str
    child_under: int
    adult_from: int | None


@dataclass(frozen=True, slots=True)
class LegalConfig:
    """Everything :func:`groomwatch.legal.assess_legal` needs besides the conversation."""

    frameworks: Mapping[str, FrameworkConfig]
    occasion_gap_hours: float
    travel: tuple[tuple[str, re.Pattern[str]], ...]
    shows_material: tuple[tuple[str, re.Pattern[str]], ...]


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _load_yaml(text: str, where: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{where}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"{where}: must be a YAML mapping at the top level")
    return data


def _compile(
    group: str, cues: tuple[_CueModel, ...], where: str
) -> tuple[tuple[str, re.Pattern[str]], ...]:
    out = []
    for cue in cues:
        try:
            out.append((cue.id, re.compile(cue.pattern)))
        except re.error as exc:
            raise InputError(
                f"{where}: cues.{group}.{cue.id}.pattern: not a valid regular expression: {exc}"
            ) from None
    return tuple(out)


def _build(path: Path | None) -> LegalConfig:
    text = resources.files("groomwatch.legal").joinpath("frameworks.yaml").read_text("utf-8")
    data = _load_yaml(text, PACKAGED)
    where = PACKAGED
    if path is not None:
        try:
            override_text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
        override = _load_yaml(override_text, str(path))
        cues = override.get("cues")
        if isinstance(cues, Mapping):
            # A cue group given replaces the packaged group (lists are not merged).
            override = {**override, "cues": {**data.get("cues", {}), **cues}}
        data = _merge(data, override)
        where = str(path)
    try:
        model = _FileModel.model_validate(data)
    except ValidationError as exc:
        parts = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
            parts.append(f"{loc}: {err['msg']}")
        raise InputError(f"{where}: " + "; ".join(parts)) from None
    return LegalConfig(
        frameworks={
            key: FrameworkConfig(key, f.title, f.child_under, f.adult_from)
            for key, f in model.frameworks.items()
        },
        occasion_gap_hours=model.occasion_gap_hours,
        travel=_compile("travel", model.cues.travel, where),
        shows_material=_compile("shows_material", model.cues.shows_material, where),
    )


@lru_cache(maxsize=8)
def load_legal_config(path: Path | None = None) -> LegalConfig:
    """The packaged configuration, merged with the deployer's file ``path`` when given."""
    return _build(path)
