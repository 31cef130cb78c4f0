"""Generated everyday chats (training negatives) and the hand-written ordinary check set: what
they contain, that they stay apart, and the shipped model's false warnings on them."""

from __future__ import annotations

from groomwatch.conversation import conversation_from_texts
from groomwatch.detect import Detector
from groomwatch.detect.everyday import check_conversations, everyday_conversations
from groomwatch.detect.model import DEFAULT_MODEL_DIR
from groomwatch.detect.tactics import default_registry
from groomwatch.detect.training import TrainConfig, cross_validate, everyday_check


def test_generation_is_seeded_and_ordinary() -> None:
    a = everyday_conversations(50, seed=3)
    assert a == everyday_conversations(50, seed=3)
    assert a != everyday_conversations(50, seed=4)
    assert len({c.id for c in a}) == 50
    for conv in a:
        assert conv.label == 0
        assert len(conv.messages) >= 4
        authors = {m.author for m in conv.messages}
        assert None not in authors
        assert 2 <= len(authors) <= 4


def test_generated_chats_show_no_grooming_tactic() -> None:
    registry = default_registry()
    found = {
        f.tactic
        for conv in everyday_conversations(500, seed=0)
        for i, m in enumerate(conv.messages)
        for f in registry.find(m.text, i, m.author)
    }
    # Friends' plans and parents' lifts find meeting cues, and a mention of a parent reads as a
    # child's age signal; nothing else (see the module's text).
    assert found <= {"meeting", "victim_age_signal"}


def test_check_set_is_hand_written_apart_from_the_generator() -> None:
    check = check_conversations()
    assert len(check) == 24
    assert len({c.id for c in check}) == len(check)
    assert all(c.label == 0 and all(m.author for m in c.messages) for c in check)
    generated = {m.text for c in everyday_conversations(2000, seed=0) for m in c.messages}
    shared = {m.text for c in check for m in c.messages} & generated
    # Only short reactions ("ok", "you too") may coincide; no sentence of the check set is in
    # the training chats.
    assert all(len(t.split()) <= 2 for t in shared), shared


def test_shipped_model_rarely_warns_on_ordinary_chat_and_its_card_says_so() -> None:
    det = Detector.load()
    measured = everyday_check(det.model, det.registry)
    assert measured == det.model.metrics["everyday_check"]
    assert measured["hand_written"]["warned"] <= 1
    assert measured["hand_written"]["flagged"] == 0
    assert measured["generated"]["warned"] <= 3
    card = (DEFAULT_MODEL_DIR / "MODEL_CARD.md").read_text(encoding="utf-8")
    hand = measured["hand_written"]
    assert f"{hand['conversations']} hand-written ordinary chats" in card
    assert f"{hand['warned']} warned" in card


def test_everyday_negatives_train_but_are_never_evaluated() -> None:
    risky = ["keep this our secret, don't tell your parents", "send me a photo, delete this chat"]
    ordinary = ["did you finish the homework", "practice is at five tomorrow"]
    convs = [
        conversation_from_texts(f"{kind}{i}-{j}", [t, "ok"], label=int(kind == "r"))
        for kind, texts in (("r", risky), ("o", ordinary))
        for i, t in enumerate(texts)
        for j in range(3)
    ]
    base = TrainConfig(folds=3, min_df=1, windows=(1,), max_iter=300, everyday_negatives=0)
    plain, _ = cross_validate(convs, default_registry(), base)
    more = TrainConfig(folds=3, min_df=1, windows=(1,), max_iter=300, everyday_negatives=30)
    model, cv = cross_validate(convs, default_registry(), more)
    assert len(cv.decisions) == len(convs)
    assert cv.metrics["cross_validation"]["conversations"] == len(convs)
    assert model.info["config"]["everyday_negatives"] == 30
    # The generated chats' words are in the fitted model: more columns than without them.
    assert len(model.columns) > len(plain.columns)
    assert set(model.metrics["everyday_check"]) == {"hand_written", "generated"}
