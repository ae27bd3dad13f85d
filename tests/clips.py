"""Small videos and face images for the face tests, made here from scikit-image's astronaut and LFW subset (imported by tests)."""

from __future__ import annotations

import io
from fractions import Fraction

import numpy as np
import pytest


def face_frame(head: np.ndarray, x: int | None, size: tuple[int, int] = (240, 320)) -> np.ndarray:
    """A gradient background with the astronaut's head at column x (None: no face)."""
    frame = np.full((*size, 3), 90, np.uint8)
    frame[..., 2] = np.linspace(60, 200, size[1], dtype=np.uint8)[None]
    if x is not None:
        frame[40:240, x:x + 200] = head
    return frame


def mp4(frames: list[np.ndarray], pts_ms: list[int] | None = None, rotation: int = 0) -> bytes:
    """Encode RGB frames as H.264 MP4 at 10 fps, or at the given presentation times (variable rate)."""
    av = pytest.importorskip("av")
    buf = io.BytesIO()
    with av.open(buf, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.height, stream.width = frames[0].shape[:2]
        stream.pix_fmt = "yuv420p"
        if pts_ms is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        if rotation:
            stream.set_display_rotation(rotation)
        for i, rgb in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            if pts_ms is not None:
                frame.pts, frame.time_base = pts_ms[i], Fraction(1, 1000)
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return buf.getvalue()


def swapped_head(head: np.ndarray, landmarks: np.ndarray, i: int) -> np.ndarray:
    """The head with its inner face replaced by a colour-shifted, blurred copy inside a feathered landmark
    hull, the shift changing every frame `i` (a face swap whose blend flickers)."""
    import cv2

    from unmask.faces.blend import hull_mask

    mask = hull_mask(landmarks, head.shape[:2], np.random.default_rng(i))[..., None]
    gain = np.array([1.25, 0.9, 0.8]) + 0.08 * np.sin(i * 2.1 + np.arange(3))
    source = cv2.GaussianBlur(head, (0, 0), 2.0).astype(np.float32) * gain
    return np.clip(source * mask + head * (1 - mask), 0, 255).astype(np.uint8)


def swap_clip(head: np.ndarray, landmarks: np.ndarray, n: int = 40, swapped: range = range(15, 25)) -> bytes:
    """`n` frames at 10 fps of the head drifting right over a gradient; frames in `swapped` carry a swapped
    face (`swapped_head`), so with the defaults 1.5-2.5 s is forged."""
    frames = [face_frame(swapped_head(head, landmarks, i) if i in swapped else head, 20 + i) for i in range(n)]
    return mp4(frames)


def lfw_face(index: int) -> np.ndarray:
    """A real face from skimage's LFW subset (25x25 grey), enlarged to 200 px and padded to 300 px in RGB, big
    enough for dlib to find."""
    from PIL import Image
    from skimage import data

    grey = Image.fromarray((data.lfw_subset()[index] * 255).astype(np.uint8)).resize((200, 200), Image.BICUBIC)
    return np.repeat(np.pad(np.asarray(grey), 50, mode="edge")[..., None], 3, axis=2)
