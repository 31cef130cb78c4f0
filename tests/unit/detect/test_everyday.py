"""Generated everyday chats (training negatives) and the hand-written ordinary check set: what
they contain, that they stay apart, and the shipped model's false warnings on them."""

from __future__ import annotations

from groomwatch.conversation import Conversation, Message, conversation_from_texts
from groomwatch.detect import Detector
from groomwatch.detect.everyday import CHECK_SETS, check_conversations, everyday_conversations
from groomwatch.detect.model import DEFAULT_MODEL_DIR
from groomwatch.detect.tactics import default_registry
from groomwatch.detect.training import TrainConfig, cross_validate, synthetic_checks


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


def test_check_sets_are_hand_written_apart_from_the_generator() -> None:
    sizes = {name: len(check_conversations(name)) for name in CHECK_SETS}
    assert sizes == {"ordinary": 36, "ordinary_hard": 12, "grooming": 12}
    generated = {m.text for c in everyday_conversations(2000, seed=0) for m in c.messages}
    ids: set[str] = set()
    for name in CHECK_SETS:
        check = check_conversations(name)
        ids |= {c.id for c in check}
        assert all(c.label == (name == "grooming") for c in check)
        assert all(all(m.author for m in c.messages) for c in check)
        shared = {m.text for c in check for m in c.messages} & generated
        # Only short reactions ("ok", "you too") may coincide; no sentence of a check set is in
        # the training chats.
        assert all(len(t.split()) <= 2 for t in shared), shared
    assert len(ids) == sum(sizes.values())


def test_shipped_model_on_the_check_sets_and_its_card_says_so() -> None:
    det = Detector.load()
    measured = synthetic_checks(det.model, det.registry)
    assert measured == det.model.metrics["synthetic_checks"]
    # Floors and ceilings a little outside what the shipped model measures (model card).
    assert measured["ordinary"]["warned"] <= 2
    assert measured["ordinary"]["flagged"] <= 1
    assert measured["ordinary_hard"]["warned"] <= 2
    assert measured["ordinary_generated"]["warned"] <= 3
    assert measured["grooming"]["warned"] >= 8
    card = (DEFAULT_MODEL_DIR / "MODEL_CARD.md").read_text(encoding="utf-8")
    for entry in measured.values():
        assert f"| {entry['conversations']} | {entry['warned']} | {entry['flagged']} |" in card


def test_extortion_alone_is_a_pattern_that_warns() -> None:
    det = Detector.load()
    lines = [
        ("stranger", "i still have the picture you sent"),
        ("teen", "please delete it"),
        ("stranger", "send me another one or i'll share it with your friends"),
    ]
    threat = Conversation(id="threat", messages=tuple(Message(text=t, author=a) for a, t in lines))
    a = det.assess(threat)
    assert {f.tactic for f in a.findings if f.author == "stranger"} == {"extortion"}
    assert a.flagged
    assert a.first_alert is not None
    assert a.suspect == "stranger"


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
    assert set(model.metrics["synthetic_checks"]) == {*CHECK_SETS, "ordinary_generated"}
