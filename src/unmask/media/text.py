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
    """The post's JSON object: a string field `text`, or images alone (an image-only post, text "")."""
    try:
        obj = json.loads(text)
    except ValueError as exc:
        raise MediaError(f"post is not valid JSON: {exc}") from exc
    if isinstance(obj, dict) and "text" not in obj and ("images" in obj or "image" in obj):
        obj = {**obj, "text": ""}
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        raise MediaError("post JSON must be an object with a string field 'text'")
    return obj


def resolve_ref(ref: str, base_dir: Path | None) -> Path | str | None:
    """Where a post's image reference points: a local image path inside `base_dir` (relative to the post
    file), None for a URL (recorded, never fetched), or the reason a local path cannot be used (missing, or
    outside the post's folder) for the report's warnings.

    Symlinks are resolved before the check, so a link inside the folder cannot point outside it.
    """
    if _URL.match(ref):
        return None
    if not ref or "\x00" in ref:
        return f"post image {ref!r} is not a usable path; ignored"
    if base_dir is None:
        return f"post image {ref!r} not loaded: a post given as bytes has no folder to find local images in"
    try:
        root = base_dir.resolve()
        candidate = (root / ref).resolve()
    except (OSError, RuntimeError, ValueError):  # symlink loops, over-long names
        return f"post image {ref!r} could not be resolved (a symlink loop or an over-long name); ignored"
    if not candidate.is_relative_to(root):
        return f"post image {ref!r} not loaded: it is outside the post's folder {root}"
    if not candidate.exists():
        return f"post image {ref!r} not found: no file {candidate}"
    if not candidate.is_file():
        return f"post image {ref!r} is not a regular file ({candidate}); ignored"
    return candidate
