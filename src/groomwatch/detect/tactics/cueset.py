"""Cue files: the per-language patterns and weights of every tactic, as packaged YAML
(``detect/tactics/cues/<language>.yaml``) validated with pydantic, merged with a deployer's file.

A cue file::

    language: en
    macros:                       # {you} in a pattern stands for this regular expression
      you: '(?:you|u|ya)'
    tactics:
      secrecy:
        - id: dont_tell           # unique within the tactic
          weight: 0.8             # (0, 1]: the score a match gives
          anchors: [tell]         # words (lower case, no apostrophe) one of which must occur
          also: [dont, never]     # optional: a second group, one of which must occur too
          pattern: "\\bdont tell\\b"

Patterns are Python regular expressions matched against the lower-cased message (apostrophes made
``'``, so write ``i'?m`` for both "im" and "i'm"). A cue without ``anchors`` is tried on every
message, which is slower.

A deployer file (``cues_path``) holds one YAML document per language (separated by ``---``), in
the same shape. Merge rules, per tactic and cue ``id``:

- a cue with a new ``id`` is added (it must give ``pattern`` and ``weight``);
- a cue with a known ``id`` replaces the fields it gives (e.g. only ``weight``);
- ``disabled: true`` removes the cue;
- ``macros`` given replace packaged macros of the same name.

A tactic name that is not registered, a pattern that does not compile, or a weight out of range is
an :class:`~groomwatch.errors.InputError` naming the file and the field
(``tactics.secrecy.2.pattern``).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from groomwatch.detect.tactics.base import Cue
from groomwatch.errors import InputError

__all__ = ["available_languages", "load_cues"]

_ID = r"^[a-z0-9][a-z0-9_]*$"
_WORD = re.compile(r"[^\W_]+")
_MACRO = re.compile(r"\{([a-z_]+)\}")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _no_yaml_booleans(v: object) -> object:
    if isinstance(v, list | tuple) and any(isinstance(w, bool) for w in v):
        raise ValueError(
            "YAML read a word as true/false: quote words such as 'yes', 'no', 'on', 'off', "
            "'true' and 'false'"
        )
    return v


def _check_anchors(v: tuple[str, ...] | None) -> tuple[str, ...] | None:
    if v is None:
        return v
    for word in v:
        if not _WORD.fullmatch(word) or word != word.lower():
            raise ValueError(
                f"anchor {word!r} must be one lower-case word without spaces or apostrophes"
            )
    return v


class _CueModel(_Model):
    id: str = Field(pattern=_ID)
    pattern: str = Field(min_length=1)
    weight: float = Field(gt=0.0, le=1.0)
    anchors: tuple[str, ...] = ()
    also: tuple[str, ...] = ()
    note: str | None = None

    _booleans = field_validator("anchors", "also", mode="before")(_no_yaml_booleans)
    _anchors = field_validator("anchors", "also")(_check_anchors)


class _CueOverride(_Model):
    id: str = Field(pattern=_ID)
    pattern: str | None = Field(default=None, min_length=1)
    weight: float | None = Field(default=None, gt=0.0, le=1.0)
    anchors: tuple[str, ...] | None = None
    also: tuple[str, ...] | None = None
    note: str | None = None
    disabled: bool = False

    _booleans = field_validator("anchors", "also", mode="before")(_no_yaml_booleans)
    _anchors = field_validator("anchors", "also")(_check_anchors)


class _CueFile(_Model):
    language: str = Field(pattern=r"^[a-z]{2}$")
    macros: dict[str, str] = {}
    tactics: dict[str, tuple[_CueModel, ...]]


class _OverrideFile(_Model):
    language: str = Field(pattern=r"^[a-z]{2}$")
    macros: dict[str, str] = {}
    tactics: dict[str, tuple[_CueOverride, ...]] = {}


def _where(source: str, exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        parts.append(f"{loc}: {err['msg']}")
    return f"{source}: " + "; ".join(parts)


_SAFE_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML was built with it: the packaged cues load in a fraction of
the pure-Python loader's time (a fifth of a second of every command's start-up). Same rules."""


def _yaml_documents(text: str, source: str) -> list[Any]:
    try:
        return [d for d in yaml.load_all(text, Loader=_SAFE_LOADER) if d is not None]
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: not valid YAML: {exc}") from None


def available_languages() -> tuple[str, ...]:
    """The languages with a packaged cue file."""
    folder = resources.files("groomwatch.detect.tactics").joinpath("cues")
    return tuple(
        sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))
    )


def _packaged(language: str) -> tuple[_CueFile, str] | None:
    res = resources.files("groomwatch.detect.tactics").joinpath("cues", f"{language}.yaml")
    if not res.is_file():
        return None
    source = f"groomwatch/detect/tactics/cues/{language}.yaml"
    docs = _yaml_documents(res.read_text(encoding="utf-8"), source)
    try:
        model = _CueFile.model_validate(docs[0] if docs else {})
    except ValidationError as exc:
        raise InputError(_where(source, exc)) from None
    return model, source


def _overrides(path: Path) -> list[_OverrideFile]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    out = []
    for n, doc in enumerate(_yaml_documents(text, str(path)), start=1):
        where = str(path) if n == 1 else f"{path} (document {n})"
        if not isinstance(doc, Mapping):
            raise InputError(f"{where}: must be a YAML mapping with language and tactics")
        try:
            out.append(_OverrideFile.model_validate(doc))
        except ValidationError as exc:
            raise InputError(_where(where, exc)) from None
    return out


def _merge(
    cues: dict[str, dict[str, dict[str, Any]]],
    override: _OverrideFile,
    source: str,
    sources: dict[tuple[str, str], str],
) -> None:
    for tactic, entries in override.tactics.items():
        current = cues.setdefault(tactic, {})
        for i, entry in enumerate(entries):
            sources[(tactic, entry.id)] = source
            if entry.disabled:
                current.pop(entry.id, None)
                continue
            given = entry.model_dump(exclude_none=True, exclude={"disabled"})
            if entry.id in current:
                current[entry.id].update(given)
            else:
                for required in ("pattern", "weight"):
                    if required not in given:
                        raise InputError(
                            f"{source}: tactics.{tactic}.{i}.{required}: a new cue "
                            f"({entry.id!r}) must give a {required}"
                        )
                current[entry.id] = given


def _compile(
    tactic: str,
    entry: Mapping[str, Any],
    macros: Mapping[str, str],
    language: str,
    source: str,
) -> Cue:
    where = f"{source}: tactics.{tactic}.{entry['id']}"

    def expand(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in macros:
            raise InputError(f"{where}.pattern: unknown macro {{{name}}}")
        return macros[name]

    pattern = str(entry["pattern"])
    for _ in range(4):  # macros may use macros, a few levels deep
        expanded = _MACRO.sub(expand, pattern)
        if expanded == pattern:
            break
        pattern = expanded
    try:
        compiled = re.compile(pattern)
    except re.error as exc:
        raise InputError(f"{where}.pattern: not a valid regular expression: {exc}") from None
    if compiled.search(""):
        raise InputError(f"{where}.pattern: matches the empty message")
    return Cue(
        pattern=compiled,
        weight=float(entry["weight"]),
        language=language,
        id=str(entry["id"]),
        anchors=frozenset(entry.get("anchors") or ()),
        also=frozenset(entry.get("also") or ()),
    )


def load_cues(
    tactic_names: Collection[str],
    languages: Sequence[str] = ("en",),
    cues_path: Path | None = None,
) -> dict[str, tuple[Cue, ...]]:
    """The compiled cues of each tactic for ``languages`` (packaged files merged with the
    deployer's ``cues_path``). Every tactic name in a file must be in ``tactic_names``."""
    if not languages:
        raise InputError("languages: give at least one language")
    overrides = _overrides(cues_path) if cues_path is not None else []
    out: dict[str, list[Cue]] = {name: [] for name in tactic_names}
    for language in dict.fromkeys(languages):
        packaged = _packaged(language)
        mine = [o for o in overrides if o.language == language]
        if packaged is None and not mine:
            raise InputError(
                f"languages: no cues for {language!r}; packaged: "
                f"{', '.join(available_languages())} (or give them in a cues file)"
            )
        macros: dict[str, str] = {}
        cues: dict[str, dict[str, dict[str, Any]]] = {}
        sources: dict[tuple[str, str], str] = {}
        if packaged is not None:
            model, source = packaged
            macros.update(model.macros)
            for tactic, entries in model.tactics.items():
                seen = cues.setdefault(tactic, {})
                for i, entry in enumerate(entries):
                    if entry.id in seen:
                        raise InputError(
                            f"{source}: tactics.{tactic}.{i}.id: {entry.id!r} used twice"
                        )
                    seen[entry.id] = entry.model_dump(exclude_none=True)
                    sources[(tactic, entry.id)] = source
        for override in mine:
            macros.update(override.macros)
            _merge(cues, override, str(cues_path), sources)
        for tactic, merged in cues.items():
            if tactic not in out:
                where = sources.get((tactic, next(iter(merged), "")), str(cues_path))
                raise InputError(
                    f"{where}: tactics.{tactic}: unknown tactic; known: {', '.join(out)}"
                )
            for given in merged.values():
                source = sources.get((tactic, given["id"]), str(cues_path))
                out[tactic].append(_compile(tactic, given, macros, language, source))
    return {name: tuple(compiled) for name, compiled in out.items()}
