"""Fixtures of the media tests. Every image here is generated (shapes on a gradient with a little
noise, or flat colour); no photograph is used and nothing is downloaded."""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw

from groomwatch.media.bank import BankStore


def generated_image(seed: int, size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A picture of random ellipses, rectangles and triangles on a colour gradient."""
    rng = np.random.default_rng(seed)
    w, h = size
    gx = np.linspace(0, 1, w)[None, :]
    gy = np.linspace(0, 1, h)[:, None]
    c0, c1 = rng.integers(0, 256, 3), rng.integers(0, 256, 3)
    mix = (gx + gy) / 2
    base = (c0[None, None, :] * (1 - mix[..., None]) + c1[None, None, :] * mix[..., None]).astype(
        np.uint8
    )
    im = Image.fromarray(base, "RGB")
    draw = ImageDraw.Draw(im)
    for _ in range(12):
        x0, x1 = sorted(int(v) for v in rng.integers(0, w, 2))
        y0, y1 = sorted(int(v) for v in rng.integers(0, h, 2))
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        shape = int(rng.integers(0, 3))
        if shape == 0:
            draw.ellipse((x0, y0, x1 + 8, y1 + 8), fill=colour)
        elif shape == 1:
            draw.rectangle((x0, y0, x1 + 8, y1 + 8), fill=colour)
        else:
            pts = [(int(rng.integers(0, w)), int(rng.integers(0, h))) for _ in range(3)]
            draw.polygon(pts, fill=colour)
    noise = rng.normal(0, 4, (h, w, 3))
    arr = np.clip(np.asarray(im, dtype=np.float64) + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(arr, "RGB")


def encode(im: Image.Image, fmt: str = "PNG", **options: Any) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **options)
    return buf.getvalue()


@dataclass(frozen=True)
class Pictures:
    """What the test modules use from here (they cannot import conftest)."""

    image: Callable[..., Image.Image]
    encode: Callable[..., bytes]


@pytest.fixture(scope="session")
def pictures() -> Pictures:
    return Pictures(generated_image, encode)


@pytest.fixture
def store(tmp_path: Path) -> BankStore:
    return BankStore.open(tmp_path / "banks")
