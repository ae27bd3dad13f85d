"""Words the post detectors share."""

from __future__ import annotations


def picture(part: str, count: int) -> str:
    """How a sentence names the picture of part `images[i]`: "The photo in this post" when there is one,
    else "Picture 2 of this post"."""
    if count == 1:
        return "The photo in this post"
    return f"Picture {int(part.removeprefix('images[').rstrip(']')) + 1} of this post"
