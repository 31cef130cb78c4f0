"""Spanish and French cues (the hotline runs in en/es/fr): each tactic finds a plain phrase, and
the anchors are sound on them. Phrases are short, synthetic and non-graphic."""

from __future__ import annotations

import pytest

from groomwatch.detect.tactics import TACTIC_NAMES, TacticRegistry, build_registry, prepare
from groomwatch.detect.tactics.cueset import available_languages, load_cues

PHRASES = {
    "es": {
        "trust_building": "eres muy madura para tu edad",
        "age_or_identity_deception": "la edad es solo un numero",
        "personal_information": "¿dónde vives?",
        "secrecy": "no le digas a nadie, es nuestro secreto",
        "isolation": "tus padres no te entienden",
        "gifts_and_money": "te compro un celular nuevo",
        "platform_switch": "agrégame al whats",
        "image_request": "mándame una foto",
        "sexualisation": "¿qué llevas puesto?",
        "meeting": "podemos vernos el sábado",
        "extortion": "si no me mandas más, todos verán",
        "victim_age_signal": "tengo 13 años",
    },
    "fr": {
        "trust_building": "t'es très mature pour ton âge",
        "age_or_identity_deception": "l'âge c'est juste un chiffre",
        "personal_information": "tu habites où ?",
        "secrecy": "c'est notre petit secret",
        "isolation": "tes parents te comprennent pas",
        "gifts_and_money": "je peux t'acheter un téléphone",
        "platform_switch": "ajoute-moi sur snap",
        "image_request": "envoie-moi une photo",
        "sexualisation": "tu portes quoi",
        "meeting": "je peux passer te chercher",
        "extortion": "sinon je montre tout à tes parents",
        "victim_age_signal": "j'ai 13 ans",
    },
}
ORDINARY = {
    "es": ["hola, ¿qué tal el examen?", "mi perro se comió la tarea", "nos vemos en clase"],
    "fr": ["salut, ça va ?", "le match était trop bien", "à demain en cours"],
}


@pytest.fixture(scope="module")
def registry() -> TacticRegistry:
    return build_registry(languages=("en", "es", "fr"))


def test_packaged_languages() -> None:
    assert {"en", "es", "fr"} <= set(available_languages())
    for language in ("es", "fr"):
        cues = load_cues(TACTIC_NAMES, (language,))
        assert all(cues[name] for name in TACTIC_NAMES), language
        assert {c.language for name in TACTIC_NAMES for c in cues[name]} == {language}


@pytest.mark.parametrize("language", ["es", "fr"])
@pytest.mark.parametrize("tactic", TACTIC_NAMES)
def test_phrase_is_found(registry: TacticRegistry, language: str, tactic: str) -> None:
    text = PHRASES[language][tactic]
    found = [f for f in registry.find(text, 0) if f.tactic == tactic]
    assert found, text
    assert text[found[0].start : found[0].end] == found[0].evidence


@pytest.mark.parametrize("language", ["es", "fr"])
def test_ordinary_chat_finds_nothing(registry: TacticRegistry, language: str) -> None:
    for text in ORDINARY[language]:
        assert registry.find(text, 0) == [], text


def test_stated_age_in_spanish_and_french(registry: TacticRegistry) -> None:
    assert [f.age for f in registry.find("tengo 12 años", 0)] == [12]
    assert [f.age for f in registry.find("j'ai 14 ans", 0)] == [14]


def test_anchors_are_sound_on_the_phrases(registry: TacticRegistry) -> None:
    texts = [t for phrases in PHRASES.values() for t in phrases.values()]
    texts += [t for ordinary in ORDINARY.values() for t in ordinary]
    for text in texts:
        p = prepare(text)
        for tactic in registry:
            for cue in tactic.cues:
                if cue.pattern.search(p.lower):
                    assert not cue.anchors.isdisjoint(p.tokens), (tactic.name, cue.id, text)
                    assert not cue.also or not cue.also.isdisjoint(p.tokens), (cue.id, text)
