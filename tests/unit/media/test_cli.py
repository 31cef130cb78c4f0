"""The ``groomwatch media`` commands: JSON output and exit status (0, 2 with a message naming the
file and no traceback)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from groomwatch.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = 0
    try:
        main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def files(tmp_path: Path, pictures: Any) -> dict[str, Path]:
    im = pictures.image(300)
    paths = {
        "original": tmp_path / "original.png",
        "copy": tmp_path / "copy.jpg",
        "other": tmp_path / "other.png",
        "flat": tmp_path / "flat.png",
        "text": tmp_path / "notes.txt",
        "truncated": tmp_path / "cut.jpg",
    }
    paths["original"].write_bytes(pictures.encode(im, "PNG"))
    paths["copy"].write_bytes(
        pictures.encode(im.transpose(Image.Transpose.FLIP_LEFT_RIGHT), "JPEG", quality=60)
    )
    paths["other"].write_bytes(pictures.encode(pictures.image(301), "PNG"))
    paths["flat"].write_bytes(pictures.encode(Image.new("RGB", (64, 64), (10, 10, 10)), "PNG"))
    paths["text"].write_text("not an image\n")
    paths["truncated"].write_bytes(pictures.encode(im, "JPEG")[:400])
    return paths


def test_hash_prints_json(capsys: pytest.CaptureFixture[str], files: dict[str, Path]) -> None:
    code, out, _ = run(capsys, "media", "hash", str(files["original"]))
    assert code == 0
    data = json.loads(out)
    assert set(data) >= {"pdq", "quality", "md5", "sha256"}
    assert len(data["pdq"]) == 64
    assert "dihedral" not in data
    code, out, _ = run(capsys, "media", "hash", str(files["original"]), "--dihedral")
    assert len(json.loads(out)["dihedral"]) == 8


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("text", "not an image or video"),
        ("truncated", "corrupt or truncated"),
        ("missing", "no such file"),
    ],
)
def test_hash_bad_files_exit_2_naming_the_file(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path], tmp_path: Path, name: str,
    message: str,
) -> None:  # fmt: skip
    path = files.get(name, tmp_path / "missing.png")
    code, out, err = run(capsys, "media", "hash", str(path))
    assert code == 2
    assert out == ""
    assert str(path) in err
    assert message in err
    assert "Traceback" not in err


def test_import_match_list_set(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path], tmp_path: Path
) -> None:
    banks = str(tmp_path / "banks")
    _, out, _ = run(capsys, "media", "hash", str(files["original"]))
    pdq = json.loads(out)["pdq"]
    hashes = tmp_path / "list.txt"
    hashes.write_text(f"{pdq}\nnot-a-hash\n")

    code, _, err = run(capsys, "media", "bank", "import", "kb", str(hashes), "--banks", banks)
    assert code == 2
    assert f"{hashes}, line 2" in err

    code, out, err = run(
        capsys, "media", "bank", "import", "kb", str(hashes), "--banks", banks,
        "--known-material", "--skip-invalid", "--source", "partner", "--threshold", "24",
    )  # fmt: skip
    assert code == 0
    assert json.loads(out)["added"] == 1
    assert f"{hashes}, line 2" in err
    assert "skipped" in err

    code, out, err = run(capsys, "media", "match", str(files["copy"]), "--banks", banks)
    assert code == 0
    (m,) = json.loads(out)
    assert (m["bank"], m["hash"], m["variant"], m["source"]) == ("kb", pdq, "flip_y", "partner")
    assert m["distance"] <= 24
    assert m["threshold"] == 24
    assert "do not open or show" in err

    code, out, _ = run(capsys, "media", "match", str(files["other"]), "--banks", banks, "--full")
    assert json.loads(out)["classification"] == "no_match"

    code, out, _ = run(capsys, "media", "bank", "set", "kb", "--disabled", "--banks", banks)
    assert code == 0
    assert json.loads(out)["enabled"] is False
    _, out, _ = run(capsys, "media", "match", str(files["copy"]), "--banks", banks)
    assert json.loads(out) == []

    code, out, _ = run(capsys, "media", "bank", "list", "--banks", banks, "--json")
    (info,) = json.loads(out)
    assert (info["name"], info["enabled"], info["counts"]["pdq"]) == ("kb", False, 1)
    code, out, _ = run(capsys, "media", "bank", "list", "--banks", banks)
    assert code == 0
    assert "known material" in out


def test_match_flat_image_warns(
    capsys: pytest.CaptureFixture[str], files: dict[str, Path], tmp_path: Path
) -> None:
    code, out, err = run(
        capsys, "media", "match", str(files["flat"]), "--banks", str(tmp_path / "b")
    )
    assert code == 0
    assert json.loads(out) == []
    assert "quality" in err
    assert "not matched by PDQ" in err


def test_bank_usage_errors(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    banks = str(tmp_path / "banks")
    code, _, err = run(capsys, "media", "bank", "set", "nope", "--disabled", "--banks", banks)
    assert code == 2
    assert "no such directory" in err or "no hash bank" in err
    (tmp_path / "banks").mkdir()
    code, _, err = run(capsys, "media", "bank", "set", "nope", "--disabled", "--banks", banks)
    assert code == 2
    assert "no hash bank named 'nope'" in err
    hashes = tmp_path / "l.txt"
    hashes.write_text("ab" * 32 + "\n")
    run(capsys, "media", "bank", "import", "b", str(hashes), "--banks", banks)
    code, _, err = run(capsys, "media", "bank", "set", "b", "--banks", banks)
    assert code == 2
    assert "nothing to change" in err
    code, _, err = run(
        capsys, "media", "bank", "import", "b", str(hashes), "--banks", banks, "--negative"
    )
    assert code == 2
    assert "exists with negative=False" in err
    code, _, err = run(capsys, "media", "bank", "import", "b", str(hashes), "--format", "xml")
    assert code == 2
    assert "--format" in err
