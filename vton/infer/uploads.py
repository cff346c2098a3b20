"""Upload parsing and validation for the API, all before any work is started.

Body size (`max_upload_mb`, 413), content type of each file (415), file names (a path in a
name is 400), pixel count from the image header before decoding (`max_pixels`, 413:
decompression bombs), decodability (400). Uploads stay in memory.
"""

from __future__ import annotations

import re

import numpy as np
from fastapi import Request

from vton.infer.batch import safe_stem
from vton.infer.errors import ApiError
from vton.infer.multipart import FormError, Part, parse_form
from vton.infer.output import check_format

IMAGE_TYPES = {
    "image/jpeg",
    "image/jpg",
    "image/pjpeg",
    "image/png",
    "image/webp",
    "image/bmp",
    "image/tiff",
}
_BAD_NAME = re.compile(r"[/\\\x00]|^\.\.?$|^[A-Za-z]:")


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise ApiError(400, "bad_content_length", f"Content-Length {declared!r}")
        if int(declared) > limit:
            raise ApiError(
                413,
                "too_large",
                f"the request is {int(declared)} bytes, above the {limit}-byte limit "
                "(infer.serve.max_upload_mb); send smaller photos",
            )
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(
                413,
                "too_large",
                f"the request passed the {limit}-byte limit "
                "(infer.serve.max_upload_mb); send smaller photos",
            )
        chunks.append(chunk)
    return b"".join(chunks)


async def read_form(request: Request, limit: int) -> dict[str, list[Part]]:
    """The request's multipart fields by name; a malformed body is a 400 (415 for a
    body that is not multipart at all)."""
    try:
        body = await read_body(request, limit)
        return fields_by_name(parse_form(body, request.headers.get("content-type")))
    except FormError as exc:
        status = 415 if "Content-Type" in str(exc) else 400
        raise ApiError(status, "bad_form", str(exc)) from None


def check_filename(part: Part) -> str:
    """The upload's file name as a plain stem; a name holding a path is refused (400)."""
    name = part.filename or ""
    if _BAD_NAME.search(name) or ".." in name.replace("\\", "/").split("/"):
        raise ApiError(
            400,
            "bad_filename",
            f"field {part.name!r}: file name {name!r} holds a path; send a plain file name",
        )
    return safe_stem(name, default=part.name)


def check_upload(part: Part) -> None:
    """The cheap checks of an uploaded image part: file name, content type, not empty."""
    check_filename(part)
    ctype = part.content_type.split(";")[0].strip()
    if ctype not in IMAGE_TYPES:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"field {part.name!r} has content type {ctype or 'none'!r}; send "
            f"{', '.join(sorted(IMAGE_TYPES))}",
        )
    if not part.data:
        raise ApiError(400, "empty_file", f"field {part.name!r} holds no bytes")


def decode_upload(part: Part, max_pixels: int) -> np.ndarray:
    """An uploaded image part -> (H, W, 3) uint8 RGB; 415/413/400 with the reason. The pixel
    count is read from the header and checked before anything is decoded."""
    from vton.formats.images import ImageRejected, load_photo

    check_upload(part)
    try:
        return load_photo(part.data, min_side=32, max_pixels=max_pixels).rgb
    except ImageRejected as exc:
        status = 413 if exc.reason == "too_large" else 400
        raise ApiError(status, exc.reason, f"field {part.name!r}: {exc.detail}") from None


def fields_by_name(parts: list[Part]) -> dict[str, list[Part]]:
    out: dict[str, list[Part]] = {}
    for part in parts:
        out.setdefault(part.name, []).append(part)
    return out


def one_part(fields: dict[str, list[Part]], name: str, *, file: bool) -> Part:
    """The single part called `name` (a file upload if `file`); 400 when missing or repeated."""
    found = fields.get(name)
    if not found:
        what = "an image file" if file else "a value"
        raise ApiError(
            400,
            "missing_field",
            f"the form has no {name!r} field ({what}); it has {sorted(fields) or 'no fields'}",
        )
    if len(found) > 1:
        raise ApiError(400, "repeated_field", f"the form has {len(found)} {name!r} fields")
    if file and found[0].filename is None:
        raise ApiError(400, "not_a_file", f"field {name!r} must be a file upload")
    return found[0]


def read_options(fields: dict[str, list[Part]]) -> tuple[str, int, bool]:
    """(format, quality, intermediates) from the form's option fields; 400 when invalid."""

    def value(name: str, default: str) -> str:
        found = fields.get(name)
        return found[0].text().strip() if found else default

    quality_text = value("quality", "90")
    if not quality_text.isdigit():
        raise ApiError(
            400, "bad_option", f"quality must be an integer 1..100, got {quality_text!r}"
        )
    try:
        fmt = check_format(value("format", "png"), int(quality_text))
    except ValueError as exc:
        raise ApiError(400, "bad_option", str(exc)) from None
    flag = value("intermediates", "0").lower()
    if flag not in ("0", "1", "true", "false", "yes", "no", ""):
        raise ApiError(400, "bad_option", f"intermediates must be 0 or 1, got {flag!r}")
    return fmt, int(quality_text), flag in ("1", "true", "yes")


def read_sampling(fields: dict[str, list[Part]]):
    """The diffusion families' options `steps` (1..1000), `guidance` (0..20) and `seed`
    (absent: the model's defaults; other families ignore them); 400 when invalid."""
    from vton.families.forward import Sampling

    def number(name: str, cast, low: float, high: float):
        found = fields.get(name)
        text = found[0].text().strip() if found else ""
        if not text:
            return None
        try:
            value = cast(text)
        except ValueError:
            value = None
        if value is None or not low <= value <= high:
            raise ApiError(
                400, "bad_option", f"{name} must be a number in {low:g}..{high:g}, got {text!r}"
            )
        return value

    steps = number("steps", int, 1, 1000)
    guidance = number("guidance", float, 0, 20)
    seed = number("seed", int, 0, 2**63 - 1)
    return Sampling(steps=steps or 0, guidance=guidance, seed=seed or 0)
