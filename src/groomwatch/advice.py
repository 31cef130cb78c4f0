"""Plain-language guidance: what to do next, the warning signs of grooming, how to protect a child,
and whom to call.

The guidance comes from the seed documents the project was built from (each item names its
``source``); it is packaged YAML (``groomwatch/data/advice/``) validated with pydantic, and a
deployer can override it with a file of the same shape:

- ``steps.<audience>``, ``protective_measures`` and ``warning_signs`` are lists of entries with a
  ``key``. An override entry with a known ``key`` replaces the fields it gives (the others are
  kept); ``disabled: true`` removes the entry; an entry with a new ``key`` is appended and must give
  every field.
- ``sources`` is a mapping merged key by key.
- Contacts: a country listed in the override file replaces the packaged list for that country.

Packaged phone numbers must be verified by the deployer for their country before they are shown to
the public (docs/tactics.md, "Advice").

Usage::

    from groomwatch.advice import next_steps, warning_signs, emergency_contacts
    for step in next_steps("parent"):
        print(step.title, "-", step.text)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from groomwatch.errors import InputError

__all__ = [
    "AUDIENCES",
    "Contact",
    "Step",
    "WarningSign",
    "advice_languages",
    "countries",
    "emergency_contacts",
    "next_steps",
    "protective_measures",
    "signs_for_tactics",
    "source_title",
    "warning_signs",
]

Audience = Literal["parent", "platform", "hotline"]
AUDIENCES: tuple[Audience, ...] = ("parent", "platform", "hotline")
ContactKind = Literal["emergency", "police", "helpline", "hotline", "report"]
SignKind = Literal["behaviour", "conversation"]
DEFAULT_COUNTRY = "INT"

_KEY = r"^[a-z][a-z0-9_]*$"


# --- results ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Step:
    """One thing to do: a short ``title`` and the ``text`` that explains it."""

    key: str
    title: str
    text: str
    source: str

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "title": self.title, "text": self.text, "source": self.source}


@dataclass(frozen=True, slots=True)
class WarningSign:
    """A sign that a child may be groomed: a change in ``behaviour`` an adult can notice, or a
    ``conversation`` clue. ``guidance`` says what to do when it is ticked; ``tactics`` names the
    tactics (``groomwatch.detect.tactics``) it relates to."""

    key: str
    kind: SignKind
    text: str
    guidance: str
    source: str
    tactics: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "kind": self.kind,
            "text": self.text,
            "guidance": self.guidance,
            "tactics": list(self.tactics),
            "source": self.source,
        }


@dataclass(frozen=True, slots=True)
class Contact:
    """Someone to call or a place to report: a ``phone`` number, a ``url`` or both."""

    name: str
    phone: str | None
    url: str | None
    kind: ContactKind
    country: str = DEFAULT_COUNTRY
    source: str = "public"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "phone": self.phone,
            "url": self.url,
            "kind": self.kind,
            "country": self.country,
            "source": self.source,
        }


# --- validated file shapes ----------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class _StepModel(_Model):
    key: str = Field(pattern=_KEY)
    title: str = Field(min_length=1)
    text: str = Field(min_length=1)
    source: str = Field(min_length=1)


class _SignModel(_Model):
    key: str = Field(pattern=_KEY)
    kind: SignKind
    text: str = Field(min_length=1)
    guidance: str = Field(min_length=1)
    tactics: tuple[str, ...] = ()
    source: str = Field(min_length=1)


class _ContactModel(_Model):
    name: str = Field(min_length=1)
    phone: str | None = Field(default=None, pattern=r"^\+?[0-9][0-9 \-]*$")
    url: str | None = Field(default=None, pattern=r"^https?://\S+$")
    kind: ContactKind
    source: str = "public"


class _AdviceFile(_Model):
    sources: dict[str, str] = {}
    steps: dict[Audience, tuple[_StepModel, ...]]
    protective_measures: tuple[_StepModel, ...]
    warning_signs: tuple[_SignModel, ...]

    @model_validator(mode="after")
    def _sources_known(self) -> _AdviceFile:
        entries: list[_StepModel | _SignModel] = [*self.protective_measures, *self.warning_signs]
        for steps in self.steps.values():
            entries.extend(steps)
        for e in entries:
            if e.source not in self.sources:
                raise ValueError(f"entry {e.key!r}: source {e.source!r} is not listed in sources")
        return self


class _ContactsFile(_Model):
    countries: dict[str, tuple[_ContactModel, ...]]

    @field_validator("countries")
    @classmethod
    def _codes(
        cls, v: dict[str, tuple[_ContactModel, ...]]
    ) -> dict[str, tuple[_ContactModel, ...]]:
        for code, contacts in v.items():
            if code != DEFAULT_COUNTRY and not (
                len(code) == 2 and code.isalpha() and code.isupper()
            ):
                raise ValueError(
                    f"{code!r} is not an ISO 3166-1 alpha-2 code (or {DEFAULT_COUNTRY})"
                )
            for c in contacts:
                if c.phone is None and c.url is None:
                    raise ValueError(f"{code}: contact {c.name!r} has neither phone nor url")
        return v


# --- loading ------------------------------------------------------------------------------------


def _read_yaml(text: str, where: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{where}: not valid YAML: {exc}") from None


def _read_file(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None
    data = _read_yaml(text, str(path))
    if not isinstance(data, dict):
        raise InputError(f"{path}: must be a YAML mapping at the top level")
    return data


def _packaged(name: str) -> dict[str, Any]:
    text = (
        resources.files("groomwatch").joinpath("data", "advice", name).read_text(encoding="utf-8")
    )
    data = _read_yaml(text, f"groomwatch/data/advice/{name}")
    assert isinstance(data, dict)
    return data


def _validation_message(where: str, exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "(top level)"
        parts.append(f"{loc}: {err['msg']}")
    return f"{where}: " + "; ".join(parts)


def _merge_entries(base: list[Any], override: Any, where: str, field: str) -> list[dict[str, Any]]:
    """Merge keyed entries: replace fields of known keys, drop ``disabled`` ones, append new."""
    if not isinstance(override, list):
        raise InputError(f"{where}: {field}: must be a list of entries with a key")
    merged: dict[str, dict[str, Any]] = {e["key"]: dict(e) for e in base}
    for i, entry in enumerate(override):
        if not isinstance(entry, dict) or not isinstance(entry.get("key"), str):
            raise InputError(f"{where}: {field}.{i}: must be a mapping with a string 'key'")
        entry = dict(entry)
        key = entry["key"]
        disabled = entry.pop("disabled", False)
        if not isinstance(disabled, bool):
            raise InputError(f"{where}: {field}.{i}.disabled: must be true or false")
        if disabled:
            merged.pop(key, None)
        elif key in merged:
            merged[key].update(entry)
        else:
            merged[key] = entry
    return list(merged.values())


def _merge_advice(base: dict[str, Any], override: dict[str, Any], where: str) -> dict[str, Any]:
    unknown = set(override) - {"sources", "steps", "protective_measures", "warning_signs"}
    if unknown:
        raise InputError(f"{where}: {sorted(unknown)[0]}: unknown section")
    out = dict(base)
    if "sources" in override:
        if not isinstance(override["sources"], dict):
            raise InputError(f"{where}: sources: must be a mapping")
        out["sources"] = {**base.get("sources", {}), **override["sources"]}
    if "steps" in override:
        steps = override["steps"]
        if not isinstance(steps, dict):
            raise InputError(f"{where}: steps: must be a mapping of audience to entries")
        out["steps"] = dict(base["steps"])
        for audience, entries in steps.items():
            if audience not in AUDIENCES:
                raise InputError(
                    f"{where}: steps.{audience}: unknown audience; use {', '.join(AUDIENCES)}"
                )
            out["steps"][audience] = _merge_entries(
                base["steps"].get(audience, []), entries, where, f"steps.{audience}"
            )
    for section in ("protective_measures", "warning_signs"):
        if section in override:
            out[section] = _merge_entries(base[section], override[section], where, section)
    return out


@dataclass(frozen=True, slots=True)
class _Advice:
    sources: Mapping[str, str]
    steps: Mapping[str, tuple[Step, ...]]
    protective_measures: tuple[Step, ...]
    warning_signs: tuple[WarningSign, ...]


def advice_languages() -> tuple[str, ...]:
    """The languages the guidance is packaged in (``en`` and its translations)."""
    folder = resources.files("groomwatch").joinpath("data", "advice")
    found = {
        p.name.removeprefix("advice.").removesuffix(".yaml")
        for p in folder.iterdir()
        if p.name.startswith("advice.") and p.name.endswith(".yaml") and p.name.count(".") == 2
    }
    return ("en", *sorted(found))


def _build_advice(path: Path | None, language: str = "en") -> _Advice:
    data = _packaged("advice.yaml")
    where = "groomwatch/data/advice/advice.yaml"
    if language != "en":
        if language not in advice_languages():
            raise InputError(
                f"language: no advice in {language!r}; packaged: {', '.join(advice_languages())}"
            )
        # A translation is an override of the English texts, entry by entry (untranslated
        # entries stay in English); it may not add entries.
        name = f"advice.{language}.yaml"
        translated = _merge_advice(data, _packaged(name), f"groomwatch/data/advice/{name}")
        for section in ("protective_measures", "warning_signs"):
            if len(translated[section]) != len(data[section]):
                raise InputError(f"groomwatch/data/advice/{name}: {section}: unknown key")
        data = translated
    if path is not None:
        data = _merge_advice(data, _read_file(path), str(path))
        where = str(path)
    try:
        model = _AdviceFile.model_validate(data)
    except ValidationError as exc:
        raise InputError(_validation_message(where, exc)) from None

    def step(s: _StepModel) -> Step:
        return Step(key=s.key, title=s.title, text=s.text, source=s.source)

    return _Advice(
        sources=dict(model.sources),
        steps={aud: tuple(step(s) for s in model.steps.get(aud, ())) for aud in AUDIENCES},
        protective_measures=tuple(step(s) for s in model.protective_measures),
        warning_signs=tuple(
            WarningSign(
                key=s.key,
                kind=s.kind,
                text=s.text,
                guidance=s.guidance,
                source=s.source,
                tactics=s.tactics,
            )
            for s in model.warning_signs
        ),
    )


@lru_cache(maxsize=16)
def _advice(path: Path | None, language: str = "en") -> _Advice:
    return _build_advice(path, language)


def _build_contacts(path: Path | None) -> Mapping[str, tuple[Contact, ...]]:
    data = _packaged("contacts.yaml")
    where = "groomwatch/data/advice/contacts.yaml"
    if path is not None:
        override = _read_file(path)
        where = str(path)
        if set(override) - {"countries"} or not isinstance(override.get("countries"), dict):
            raise InputError(f"{path}: countries: must be the only section, a mapping of codes")
        data = {"countries": {**data["countries"], **override["countries"]}}
    try:
        model = _ContactsFile.model_validate(data)
    except ValidationError as exc:
        raise InputError(_validation_message(where, exc)) from None
    return {
        code: tuple(
            Contact(
                name=c.name,
                phone=c.phone,
                url=c.url,
                kind=c.kind,
                country=code,
                source=c.source,
            )
            for c in contacts
        )
        for code, contacts in model.countries.items()
    }


@lru_cache(maxsize=8)
def _contacts(path: Path | None) -> Mapping[str, tuple[Contact, ...]]:
    return _build_contacts(path)


# --- public API ---------------------------------------------------------------------------------


def next_steps(
    audience: Audience = "parent", *, path: Path | None = None, language: str = "en"
) -> tuple[Step, ...]:
    """What to do now that grooming is suspected, for a ``parent`` (or educator), a ``platform``
    trust & safety team, or a ``hotline``. ``path`` names a deployer override file; ``language``
    (``en``, ``es``, ``fr``) picks a translation, English where an entry is not translated."""
    if audience not in AUDIENCES:
        raise InputError(f"audience: must be one of {', '.join(AUDIENCES)}, not {audience!r}")
    return _advice(path, language).steps[audience]


def warning_signs(
    kind: SignKind | None = None, *, path: Path | None = None, language: str = "en"
) -> tuple[WarningSign, ...]:
    """The warning signs: behaviour an adult can notice and clues in a conversation (each clue
    names the tactics it relates to). ``kind`` keeps only ``behaviour`` or ``conversation``."""
    signs = _advice(path, language).warning_signs
    if kind is None:
        return signs
    if kind not in ("behaviour", "conversation"):
        raise InputError(f"kind: must be 'behaviour' or 'conversation', not {kind!r}")
    return tuple(s for s in signs if s.kind == kind)


def signs_for_tactics(
    tactics: Sequence[str], *, path: Path | None = None, language: str = "en"
) -> tuple[WarningSign, ...]:
    """The conversation clues that explain the given tactic names, in packaged order."""
    wanted = set(tactics)
    return tuple(
        s
        for s in _advice(path, language).warning_signs
        if s.kind == "conversation" and wanted.intersection(s.tactics)
    )


def protective_measures(*, path: Path | None = None, language: str = "en") -> tuple[Step, ...]:
    """What parents, educators and children can do to stay safe online."""
    return _advice(path, language).protective_measures


def source_title(source: str, *, path: Path | None = None) -> str:
    """The full title of a ``source`` key (``aple_kh`` -> "APLE Cambodia, ..."), or the key."""
    return _advice(path).sources.get(source, source)


def emergency_contacts(country: str | None = None, path: Path | None = None) -> tuple[Contact, ...]:
    """Whom to call in ``country`` (ISO 3166-1 alpha-2, e.g. ``"KH"``, any case); the international
    default (112, the child helpline 116 111, hotline directories) when ``country`` is None or not
    listed. ``path`` names a deployer file that replaces the list of the countries it names.
    Deployers must verify these numbers for their country."""
    table = _contacts(path)
    if country is None:
        return table[DEFAULT_COUNTRY]
    code = country.strip().upper()
    if not (len(code) == 2 and code.isalpha()) and code != DEFAULT_COUNTRY:
        raise InputError(f"country: must be a two-letter ISO 3166-1 code, not {country!r}")
    return table.get(code, table[DEFAULT_COUNTRY])


def countries(*, path: Path | None = None) -> tuple[str, ...]:
    """The country codes with their own contact list (``INT`` is the default)."""
    return tuple(_contacts(path))
