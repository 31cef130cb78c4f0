"""The gettext catalogues are in sync with the sources, complete, and compiled."""

from __future__ import annotations

import re

import pytest
from babel.messages.mofile import read_mo

from groomwatch.server import i18n

PLACEHOLDER = re.compile(r"%\((\w+)\)s")


@pytest.fixture(scope="module")
def template() -> set[object]:
    return {m.id for m in i18n.extract() if m.id}


@pytest.mark.parametrize("language", i18n.TRANSLATED)
def test_catalogue_has_every_source_string_and_nothing_else(
    language: str, template: set[object]
) -> None:
    catalog = {m.id for m in i18n.read_catalog(language) if m.id}
    missing = template - catalog
    stale = catalog - template
    assert not missing, f"run `python -m groomwatch.server.i18n update`; missing: {missing}"
    assert not stale, f"run `python -m groomwatch.server.i18n update`; stale: {stale}"


@pytest.mark.parametrize("language", i18n.TRANSLATED)
def test_every_string_is_translated_with_its_placeholders(language: str) -> None:
    for message in i18n.read_catalog(language):
        if not message.id:
            continue
        assert not message.fuzzy, message.id
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        assert all(strings), f"{language}: untranslated {message.id!r}"
        wanted = set(PLACEHOLDER.findall(ids[-1]))
        for s in strings:
            assert set(PLACEHOLDER.findall(s)) == wanted, f"{language}: {message.id!r}"


@pytest.mark.parametrize("language", i18n.TRANSLATED)
def test_compiled_catalogue_matches_the_po_file(language: str) -> None:
    po = i18n.read_catalog(language)
    mo_path = i18n.po_path(language).with_suffix(".mo")
    with mo_path.open("rb") as fh:
        mo = read_mo(fh)

    def table(catalog: object) -> dict[object, object]:
        return {
            (tuple(m.id) if isinstance(m.id, list | tuple) else m.id): (
                tuple(m.string) if isinstance(m.string, list | tuple) else m.string
            )
            for m in catalog  # type: ignore[attr-defined]
            if m.id
        }

    assert table(mo) == table(po), "run `python -m groomwatch.server.i18n compile`"


def test_language_choice() -> None:
    assert i18n.choose_language("fr", "es", "en") == "fr"
    assert i18n.choose_language(None, "es", "fr") == "es"
    assert i18n.choose_language("xx", None, "de-DE,fr;q=0.8,es;q=0.9") == "es"
    assert i18n.choose_language(None, None, "de") == "en"
    assert i18n.gettext_functions("es")["_"]("Report %(ref)s", ref="GW-1") == "Denuncia GW-1"
    assert i18n.gettext_functions("en")["_"]("Report %(ref)s", ref="GW-1") == "Report GW-1"
