"""Translations of the hotline's web pages: gettext catalogues in ``groomwatch/locales``
(``<lang>/LC_MESSAGES/messages.po`` and the compiled ``.mo``), read with Babel.

The language of a request is, in order: ``?lang=``, the ``gw_lang`` cookie, the browser's
``Accept-Language``, English. Source strings are English; a string with no translation shows in
English.

Updating the catalogues after changing a template or a marked string::

    python -m groomwatch.server.i18n update    # extract, merge into every .po
    # translate the new entries in src/groomwatch/locales/*/LC_MESSAGES/messages.po
    python -m groomwatch.server.i18n compile   # write the .mo files

``tests/unit/hotline/test_i18n.py`` fails when the catalogues and the sources drift apart.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po
from babel.support import NullTranslations, Translations

LOCALES_DIR = Path(__file__).resolve().parents[1] / "locales"
PACKAGE_DIR = Path(__file__).resolve().parents[1]
DOMAIN = "messages"
DEFAULT_LANGUAGE = "en"
LANGUAGES: dict[str, str] = {"en": "English", "es": "Español", "fr": "Français"}
TRANSLATED = ("es", "fr")
KEYWORDS = {"_": None, "N_": None, "gettext": None, "ngettext": (1, 2)}
# Which files hold translatable strings, and how to read them.
METHOD_MAP = [
    ("server/templates/**.html", "jinja2"),
    ("hotline/workflow.py", "python"),
    ("server/routes/public.py", "python"),
    ("server/routes/analyst.py", "python"),
    ("server/web.py", "python"),
]
OPTIONS_MAP = {"server/templates/**.html": {"extensions": "jinja2.ext.i18n"}}


@lru_cache(maxsize=8)
def translations(language: str) -> NullTranslations:
    """The compiled catalogue of ``language`` (English: none, the sources are English)."""
    if language not in TRANSLATED:
        return NullTranslations()
    return Translations.load(str(LOCALES_DIR), [language], DOMAIN)


def parse_accept_language(header: str | None) -> list[str]:
    """Primary language codes of an ``Accept-Language`` header, best first."""
    if not header:
        return []
    weighted: list[tuple[float, int, str]] = []
    for i, part in enumerate(header.split(",")):
        lang, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        code = lang.strip().lower().split("-")[0]
        if code and code != "*" and quality > 0:
            weighted.append((-quality, i, code))
    return [code for _, _, code in sorted(weighted)]


def choose_language(query: str | None, cookie: str | None, accept_language: str | None) -> str:
    for candidate in (query, cookie, *parse_accept_language(accept_language)):
        if candidate and candidate.lower() in LANGUAGES:
            return candidate.lower()
    return DEFAULT_LANGUAGE


def gettext_functions(language: str) -> dict[str, Any]:
    """``_`` (with ``%(name)s`` formatting from keyword arguments), ``gettext`` and
    ``ngettext`` for templates and route code."""
    t = translations(language)

    def _(message: str, **kwargs: Any) -> str:
        text = t.gettext(message)
        return text % kwargs if kwargs else text

    def ngettext(singular: str, plural: str, n: int, **kwargs: Any) -> str:
        text = t.ngettext(singular, plural, n)
        return text % {"num": n, **kwargs}

    return {"_": _, "gettext": _, "ngettext": ngettext}


# --- catalogue maintenance ------------------------------------------------------------------------


def content_strings() -> list[tuple[str, str]]:
    """Strings the pages show from packaged content rather than from the templates: the parents'
    next steps and the warning signs (``groomwatch.advice``) and the tactic titles
    (``groomwatch.detect.tactics``), with where they come from. A deployer's override text that
    is not in the catalogue shows as written."""
    from groomwatch.advice import next_steps, warning_signs
    from groomwatch.detect.tactics import default_registry

    out: list[tuple[str, str]] = []
    for step in next_steps("parent"):
        out += [
            (step.title, f"advice:steps.parent.{step.key}"),
            (step.text, f"advice:steps.parent.{step.key}"),
        ]
    for sign in warning_signs():
        out += [
            (sign.text, f"advice:warning_signs.{sign.key}"),
            (sign.guidance, f"advice:warning_signs.{sign.key}"),
        ]
    for tactic in default_registry():
        out.append((tactic.title, f"tactics:{tactic.name}"))
    return out


def extract() -> Catalog:
    """Every translatable string of the sources (templates, marked Python strings, packaged
    content), as a template catalogue."""
    catalog = Catalog(project="groomwatch", charset="utf-8")
    for text, where in content_strings():
        catalog.add(text, None, [(where, 0)])
    for filename, lineno, message, comments, context in extract_from_dir(
        str(PACKAGE_DIR),
        method_map=METHOD_MAP,
        options_map=OPTIONS_MAP,
        keywords=KEYWORDS,
        comment_tags=("Translators:",),
    ):
        catalog.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def po_path(language: str) -> Path:
    return LOCALES_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


def read_catalog(language: str) -> Catalog:
    with po_path(language).open("rb") as fh:
        return read_po(fh, locale=language, domain=DOMAIN)


def compiled(catalog: Catalog) -> bytes:
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


def update(languages: Iterable[str] = TRANSLATED) -> None:
    template = extract()
    with (LOCALES_DIR / f"{DOMAIN}.pot").open("wb") as fh:
        write_po(fh, template, omit_header=False, sort_output=True, width=100)
    for language in languages:
        path = po_path(language)
        if path.exists():
            catalog = read_catalog(language)
            catalog.update(template, no_fuzzy_matching=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            catalog = Catalog(locale=language, domain=DOMAIN, project="groomwatch")
            catalog.update(template)
        with path.open("wb") as fh:
            write_po(fh, catalog, sort_output=True, width=100, ignore_obsolete=True)


def compile_all(languages: Iterable[str] = TRANSLATED) -> None:
    for language in languages:
        path = po_path(language).with_suffix(".mo")
        path.write_bytes(compiled(read_catalog(language)))
    translations.cache_clear()


if __name__ == "__main__":  # pragma: no cover - maintenance entry point
    command = sys.argv[1] if len(sys.argv) > 1 else ""
    if command == "update":
        update()
    elif command == "compile":
        compile_all()
    else:
        sys.exit("usage: python -m groomwatch.server.i18n update|compile")
