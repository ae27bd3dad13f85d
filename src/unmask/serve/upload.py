"""Reading an analysis request body as it streams in: a multipart `file` goes straight into an UploadSink
(hashed, size-capped, in the data directory), never into memory or a path named by the client."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from .files import UploadSink, UploadTooLarge

MAX_FORM_EXTRA = 64 * 1024  # bytes of other form fields tolerated beside `file`
MAX_FILENAME = 255


class BadUpload(Exception):
    """The request body is not a usable analysis request; `status` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def display_name(raw: bytes | str | None) -> str | None:
    """The client's file name for display only: control characters removed, at most 255 characters."""
    if raw is None:
        return None
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    text = "".join(ch for ch in text if unicodedata.category(ch)[0] != "C").strip()
    return text[:MAX_FILENAME] or None


class _Form:
    """Callbacks for python-multipart: the first part named `file` goes to the sink, others are skipped."""

    def __init__(self, sink: UploadSink) -> None:
        self.sink = sink
        self.found = False
        self.filename: str | None = None
        self.extra = 0
        self._target: str | None = None
        self._headers: dict[bytes, bytes] = {}
        self._field = b""
        self._value = b""

    def callbacks(self) -> dict[str, Any]:
        return {"on_part_begin": self._begin, "on_header_field": self._on_field, "on_header_value": self._on_value,
                "on_header_end": self._header_end, "on_headers_finished": self._headers_done,
                "on_part_data": self._data, "on_part_end": self._end}

    def _begin(self) -> None:
        self._headers, self._field, self._value = {}, b"", b""

    def _on_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _on_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._field.lower()] = self._value
        self._field, self._value = b"", b""

    def _headers_done(self) -> None:
        _, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        if params.get(b"name") == b"file" and not self.found:
            self.found, self._target = True, "file"
            self.filename = display_name(params.get(b"filename"))
        else:
            self._target = "other"

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._target == "file":
            self.sink.write(data[start:end])
            return
        self.extra += end - start
        if self.extra > MAX_FORM_EXTRA:
            raise BadUpload(413, f"form fields other than 'file' exceed {MAX_FORM_EXTRA:,} bytes")

    def _end(self) -> None:
        self._target = None


async def receive_file(request: Request, sink: UploadSink) -> str | None:
    """Stream a multipart/form-data body's `file` into `sink`; returns the client's file name (display only).
    Raises BadUpload or UploadTooLarge; the caller aborts the sink on any error."""
    _, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if not boundary:
        raise BadUpload(422, "multipart/form-data without a boundary")
    form = _Form(sink)
    parser = MultipartParser(boundary, form.callbacks(), max_header_count=16)
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
    except MultipartParseError as exc:
        raise BadUpload(422, f"malformed multipart body: {exc}") from exc
    except ClientDisconnect as exc:
        raise BadUpload(400, "the client disconnected during the upload") from exc
    if not form.found:
        raise BadUpload(422, "the form has no field named 'file'")
    if sink.size == 0:
        raise BadUpload(400, "the uploaded file is empty (0 bytes)")
    return form.filename


async def receive_json(request: Request, limit: int) -> dict[str, Any]:
    """A JSON analysis request: {"text": ...} and/or {"image_url": ...}, validated."""
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > limit:
                raise UploadTooLarge(limit)
    except ClientDisconnect as exc:
        raise BadUpload(400, "the client disconnected during the upload") from exc
    try:
        obj = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise BadUpload(422, f"the body is not valid JSON: {exc}") from exc
    if not isinstance(obj, dict) or not obj or set(obj) - {"text", "image_url"}:
        raise BadUpload(422, 'give a JSON object with "text" and/or "image_url" (nothing else)')
    for key in ("text", "image_url"):
        if key in obj and not isinstance(obj[key], str):
            raise BadUpload(422, f'"{key}" must be a string')
    if "text" in obj and not obj["text"].strip():
        raise BadUpload(400, '"text" is empty')
    if "text" in obj and "\x00" in obj["text"]:
        raise BadUpload(422, '"text" contains a NUL character')
    return obj
