"""multipart/form-data parsed in memory (python-multipart's streaming parser).

Starlette's own form parser spools file parts above 1 MB to anonymous temporary files in
the system temp folder; the API keeps every upload in memory instead (the body is already
bounded by `infer.serve.max_upload_mb`), so nothing a client sends touches the disk.
"""

from __future__ import annotations

from dataclasses import dataclass

from python_multipart.multipart import MultipartParseError, MultipartParser, parse_options_header


class FormError(ValueError):
    """The body is not well-formed multipart/form-data; the message says what is wrong."""


@dataclass
class Part:
    """One form field: `filename` is None for plain fields; `data` holds the raw bytes."""

    name: str
    filename: str | None
    content_type: str
    data: bytes

    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


def parse_form(body: bytes, content_type: str | None, max_parts: int = 200) -> list[Part]:
    """Parse a multipart/form-data body into its parts, in order."""
    kind, options = parse_options_header(content_type or "")
    if kind != b"multipart/form-data":
        raise FormError(
            f"expected Content-Type multipart/form-data, got {content_type or 'none'!r}; send "
            "the photos as form fields (curl -F person=@photo.jpg -F garment=@shirt.jpg)"
        )
    boundary = options.get(b"boundary")
    if not boundary:
        raise FormError("the multipart Content-Type header has no boundary parameter")
    parts: list[Part] = []
    headers: dict[bytes, bytes] = {}
    state = {"field": b"", "value": b"", "chunks": []}

    def on_part_begin():
        headers.clear()
        state["chunks"] = []

    def on_header_field(data, start, end):
        state["field"] += data[start:end]

    def on_header_value(data, start, end):
        state["value"] += data[start:end]

    def on_header_end():
        headers[state["field"].strip().lower()] = state["value"].strip()
        state["field"], state["value"] = b"", b""

    def on_part_data(data, start, end):
        state["chunks"].append(bytes(data[start:end]))

    def on_part_end():
        if len(parts) >= max_parts:
            raise FormError(f"more than {max_parts} form fields")
        disposition, params = parse_options_header(headers.get(b"content-disposition", b""))
        if disposition != b"form-data" or b"name" not in params:
            raise FormError("a part has no Content-Disposition: form-data header with a name")
        filename = params.get(b"filename")
        parts.append(
            Part(
                name=params[b"name"].decode("utf-8", errors="replace"),
                filename=None if filename is None else filename.decode("utf-8", "replace"),
                content_type=headers.get(b"content-type", b"").decode("latin-1").lower(),
                data=b"".join(state["chunks"]),
            )
        )

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin,
            "on_header_field": on_header_field,
            "on_header_value": on_header_value,
            "on_header_end": on_header_end,
            "on_part_data": on_part_data,
            "on_part_end": on_part_end,
        },
    )
    try:
        parser.write(body)
        parser.finalize()
    except MultipartParseError as exc:
        raise FormError(f"malformed multipart body: {exc}") from None
    return parts
