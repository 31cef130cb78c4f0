"""Routes: media. Match one uploaded image or video against the deployment's hash banks.

The upload is checked by content (not by its name or declared type): 413 when larger than
``media_max_upload_bytes``, 415 when it is neither an image nor a video, 422 when it is a corrupt
or truncated image, 413 when it is an image with too many pixels (a decompression bomb). The
answer lists matches with their explanation and never echoes the file; when an upload matches a
known-material bank the answer says ``viewable: false``. Banks are the deployment's (the
directory ``media_dir``), shared by every tenant.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, HTTPException, Request, UploadFile, status
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from groomwatch.server.deps import SettingsDep, TenantDep
from groomwatch.settings import Settings

router = APIRouter(prefix="/v1/media", tags=["media"])

_CHUNK = 1024 * 1024


class SuppressionPublic(BaseModel):
    bank: str
    signal_type: str
    hash: str
    distance: int
    threshold: int
    source: str | None
    date: str | None


class MatchPublic(BaseModel):
    bank: str
    signal_type: Literal["pdq", "md5", "sha256"]
    hash: str
    distance: int
    threshold: int
    variant: str | None
    source: str | None
    date: str | None
    ref: str | None
    known_material: bool
    counted: bool
    suppressed_by: SuppressionPublic | None
    explanation: str


class HashesPublic(BaseModel):
    kind: Literal["image", "video", "other"]
    format: str | None
    size: int
    md5: str
    sha256: str
    pdq: str | None
    quality: int | None
    width: int | None = None
    height: int | None = None


class MediaMatchPublic(BaseModel):
    classification: Literal["known_material", "match", "no_match"]
    known_material: bool
    viewable: bool
    hashes: HashesPublic
    pdq_refused: str | None
    matches: list[MatchPublic]
    truncated_banks: list[str]


def _matcher(request: Request, settings: Settings) -> Any:
    """One matcher per application (its bank store caches memory-mapped indexes)."""
    from groomwatch.media.bank import BankStore
    from groomwatch.media.matching import Matcher

    matcher = getattr(request.app.state, "media_matcher", None)
    if matcher is None:
        store = BankStore.open(settings.resolved_media_dir)
        matcher = Matcher(store, min_quality=settings.media_min_quality)
        request.app.state.media_matcher = matcher
    return matcher


async def _read_limited(upload: UploadFile, limit: int) -> bytes:
    parts: list[bytes] = []
    size = 0
    while chunk := await upload.read(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise HTTPException(
                status.HTTP_413_CONTENT_TOO_LARGE, f"upload is larger than {limit:,} bytes"
            )
        parts.append(chunk)
    return b"".join(parts)


@router.post(
    "/match",
    response_model=MediaMatchPublic,
    summary="Match an image or video against the hash banks",
    responses={
        401: {"description": "Missing or invalid API key"},
        413: {"description": "Upload too large, or an image with too many pixels"},
        415: {"description": "Neither an image nor a video (judged by content)"},
        422: {"description": "Corrupt or truncated image, or no file"},
    },
)
async def match_media(
    request: Request,
    tenant: TenantDep,
    settings: SettingsDep,
    file: Annotated[UploadFile, File(description="One image or video.")],
) -> dict[str, Any]:
    """Hash the upload (PDQ for images, MD5 and SHA-256 for every file) and match it against
    every enabled bank: each match says which bank, entry, distance and threshold, which rotated
    or mirrored variant matched, and whether a negative bank suppressed it. Nothing is stored and
    the file is never echoed; ``viewable: false`` means it matched known material."""
    from groomwatch.media.hashing import (
        CorruptMediaError,
        ImageTooLargeError,
        MediaError,
        UnsupportedMediaError,
        UploadTooLargeError,
        hash_media,
        sniff,
    )

    try:
        data = await _read_limited(file, settings.media_max_upload_bytes)
    finally:
        await file.close()
    if not data:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "the file is empty")
    kind, _ = sniff(data)
    if kind == "other":
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            "not an image or video (its content has no known image or video signature)",
        )
    try:
        hashes = await run_in_threadpool(
            hash_media,
            data,
            max_bytes=settings.media_max_upload_bytes,
            max_pixels=settings.media_max_image_pixels,
        )
    except (UploadTooLargeError, ImageTooLargeError) as exc:
        raise HTTPException(status.HTTP_413_CONTENT_TOO_LARGE, exc.message) from None
    except UnsupportedMediaError as exc:
        raise HTTPException(status.HTTP_415_UNSUPPORTED_MEDIA_TYPE, exc.message) from None
    except (CorruptMediaError, MediaError) as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, exc.message) from None
    finally:
        del data
    matcher = _matcher(request, settings)
    result = await run_in_threadpool(matcher.match, hashes)
    out: dict[str, Any] = result.to_dict()
    return out
