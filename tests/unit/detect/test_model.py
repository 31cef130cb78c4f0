"""The model artifact: arrays and JSON only, round trip, refusal of broken or pickled files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from groomwatch.detect import Detector
from groomwatch.detect.model import DEFAULT_MODEL_DIR, META_FILE, WEIGHTS_FILE, RiskModel
from groomwatch.errors import ModelError

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def test_shipped_model_is_small_and_round_trips(tmp_path: Path) -> None:
    size = sum(p.stat().st_size for p in DEFAULT_MODEL_DIR.iterdir())
    assert size < 5_000_000
    assert (DEFAULT_MODEL_DIR / "MODEL_CARD.md").is_file()
    model = RiskModel.load(DEFAULT_MODEL_DIR)
    model.save(tmp_path / "m")
    again = RiskModel.load(tmp_path / "m")
    assert np.array_equal(again.columns, model.columns)
    assert np.array_equal(again.linear.coef_text, model.linear.coef_text)
    assert again.policy == model.policy
    assert again.tactic_names == model.tactic_names


def test_weights_hold_no_objects() -> None:
    with np.load(DEFAULT_MODEL_DIR / WEIGHTS_FILE, allow_pickle=False) as w:
        for name in w.files:
            assert w[name].dtype != object


def _copy(tmp_path: Path) -> Path:
    target = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL_DIR, target)
    return target


def test_pickled_arrays_are_refused(tmp_path: Path) -> None:
    target = _copy(tmp_path)
    np.savez(target / WEIGHTS_FILE, columns=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ModelError):
        RiskModel.load(target)


@pytest.mark.parametrize(
    "edit",
    [
        lambda m: m.update(format_version=99),
        lambda m: m.pop("threshold"),
        lambda m: m.update(tactics=["secrecy"]),
    ],
)
def test_broken_metadata_is_refused(tmp_path: Path, edit: object) -> None:
    target = _copy(tmp_path)
    meta = json.loads((target / META_FILE).read_text())
    edit(meta)  # type: ignore[operator]
    (target / META_FILE).write_text(json.dumps(meta))
    with pytest.raises(ModelError):
        RiskModel.load(target)


def test_missing_model_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="not a model directory"):
        Detector.load(tmp_path)


@pytest.mark.parametrize(
    "config",
    [
        None,
        (
            {
                "analyzer": "word",
                "ngram_range": [1, 2],
                "token_pattern": r"(?u)\b\w+\b",
                "n_features": 2**20,
            },
            {"analyzer": "char_wb", "ngram_range": [3, 4], "n_features": 2**20},
        ),
        ({"analyzer": "word_1_2", "n_features": 2**10}, {"analyzer": "char_3_4", "n_features": 64}),
    ],
)
def test_streaming_hash_equals_hashing_vectorizer(config: object) -> None:
    from groomwatch.detect.model import TextHasher

    hasher = TextHasher() if config is None else TextHasher(config)  # type: ignore[arg-type]
    for text in ("Hey there, how old are you?", "", "Ünïcode ok 123 ok ok", "a b c d e f g"):
        row = hasher.transform([text])
        assert hasher.columns_of(text) == dict(
            zip(row.indices.tolist(), [int(v) for v in row.data], strict=True)
        )


def test_unknown_analyzer_is_refused() -> None:
    from groomwatch.detect.model import TextHasher

    with pytest.raises(ModelError, match="analyzer"):
        TextHasher(({"analyzer": "eval", "n_features": 8},))


def test_tfidf_rows_normalises_each_block_like_sklearn() -> None:
    import scipy.sparse as sp
    from sklearn.preprocessing import normalize

    from groomwatch.detect.model import column_blocks, tfidf_rows

    counts = sp.csr_matrix(np.array([[1, 0, 3, 2, 0], [0, 0, 0, 4, 1], [0, 0, 0, 0, 0]]))
    idf = np.array([1.0, 2.0, 1.5, 1.2, 3.0])
    block = np.array([0, 0, 0, 1, 1])
    got = tfidf_rows(counts, idf, block, 2).toarray()
    dense = counts.toarray().astype(float)
    tf = np.where(dense > 0, 1 + np.log(np.where(dense > 0, dense, 1)), 0) * idf
    expected = np.hstack([normalize(tf[:, :3]), normalize(tf[:, 3:])])
    assert got == pytest.approx(expected)
    joint = tfidf_rows(counts, idf).toarray()
    assert joint == pytest.approx(normalize(tf))
    config = ({"n_features": 4}, {"n_features": 4})
    assert column_blocks(np.array([0, 3, 4, 7]), config).tolist() == [0, 0, 1, 1]


def test_scanning_does_not_import_sklearn(tmp_path: Path) -> None:
    """A batch scan hashes with the vectorised hasher: scikit-learn (most of a second to import)
    is loaded only by what needs it (training, evaluation, a model of other analyzers)."""
    import subprocess
    import sys

    out = tmp_path / "out.jsonl"
    code = (
        "import sys\n"
        "from groomwatch.cli import main\n"
        "try:\n"
        f"    main(['scan', {str(EXAMPLES)!r}, '--output', {str(out)!r}])\n"
        "except SystemExit as exc:\n"
        "    assert not exc.code, exc.code\n"
        "print('sklearn' in sys.modules)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip().splitlines()[-1] == "False"
    assert len(out.read_text().splitlines()) >= 5


def test_warm_up_loads_the_streaming_hash() -> None:
    from groomwatch.detect import model

    Detector.load().warm_up()
    assert model._murmurhash3_32.__module__.startswith("sklearn")
