"""Text documents and social posts (text plus images); URLs in posts are recorded, never fetched."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import MediaError
from .base import Media
from .image import ImageMedia

_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:(//|[^\\/])")  # scheme: (http://, data:, file:); not C:\


@dataclass(eq=False)
class TextMedia(Media):
    """A UTF-8 document, normalised to `\\n` line ends."""

    text: str = field(repr=False, kw_only=True)

    kind = "text"

    def info(self) -> dict[str, Any]:
        return {**super().info(), "chars": len(self.text), "words": len(self.text.split())}


@dataclass(eq=False)
class PostMedia(Media):
    """A social post: its text, the images we could load, and references (URLs, unresolved paths) we did not."""

    text: str = field(repr=False, kw_only=True)
    images: list[ImageMedia] = field(default_factory=list, kw_only=True)
    image_refs: list[str] = field(default_factory=list, kw_only=True)
    fields: dict[str, Any] = field(default_factory=dict, kw_only=True)

    kind = "post"

    def info(self) -> dict[str, Any]:
        return {**super().info(), "chars": len(self.text), "images": len(self.images)}


def decode_text(data: bytes) -> str:
    """Strict UTF-8 (BOM allowed). Text in another encoding gets an error that says how to fix it."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise MediaError(
            f"text is not valid UTF-8 (byte {exc.start}: {data[exc.start:exc.start + 1]!r}); "
            "re-save it as UTF-8", code="encoding"
        ) from exc
    return text.replace("\r\n", "\n").replace("\r", "\n")


def post_image_refs(obj: dict[str, Any]) -> list[str]:
    """The post's image references: field `images` (a list) or `image` (one), each a path or URL."""
    refs = obj.get("images", obj.get("image", []))
    refs = [refs] if isinstance(refs, str) else refs
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        raise MediaError("post 'images' must be a string or a list of strings (paths or URLs)")
    return refs


def parse_post(text: str) -> dict[str, Any]:
    """The post's JSON object; it must have a string field `text`."""
    try:
        obj = json.loads(text)
    except ValueError as exc:
        raise MediaError(f"post is not valid JSON: {exc}") from exc
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        raise MediaError("post JSON must be an object with a string field 'text'")
    return obj


def resolve_ref(ref: str, base_dir: Path | None) -> Path | None:
    """A local image path relative to the post file; URLs and paths outside `base_dir` are not resolved.

    Symlinks are resolved before the check, so a link inside the folder cannot point outside it.
    """
    if base_dir is None or not ref or _URL.match(ref) or "\x00" in ref:
        return None
    try:
        root = base_dir.resolve()
        candidate = (root / ref).resolve()
    except (OSError, RuntimeError, ValueError):  # symlink loops, over-long names
        return None
    if not candidate.is_relative_to(root):
        return None
    return candidate if candidate.is_file() else None
