"""Generate the bundled demo media in samples/ deterministically from scikit-image's sample photographs.

    python tools/make_samples.py samples        # (or: make samples)

Needs the dev extra (scikit-image) plus PyAV for the video; the generated files are committed so that
`make demo` needs nothing but the package. Every manipulation is done here, in the open, so each sample's
ground truth is known: see samples/README.md. Re-running produces byte-identical files with the same
Pillow/libjpeg, zlib and PyAV/libx264 versions.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import wave
from pathlib import Path

import numpy as np
from PIL import Image

# Where the edits are, in pixels (x0, y0, x1, y1) of the output image; samples/README.md repeats them.
SPLICE_BOX = (37, 293, 37 + 150, 293 + 130)
COPY_SOURCE_CENTRE, COPY_TARGET_CENTRE, COPY_RADIUS, COPY_ANGLE = (300, 120), (90, 215), 34, 25.0

SD_PARAMETERS = (
    "a cosy photo of a tabby cat on a wooden table, soft window light, highly detailed\n"
    "Negative prompt: blurry, lowres, watermark\n"
    "Steps: 28, Sampler: DPM++ 2M Karras, CFG scale: 6.5, Seed: 1234567890, Size: 512x512, "
    "Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Version: v1.7.0"
)
NEWS_TEXT = (
    "RIVERTON (Demo Wire) - The city council voted 7-2 on Tuesday to extend the riverside cycle path by "
    "four kilometres, a project officials say will be finished before next summer. Council member Ana "
    "Ruiz said the extension would connect two neighbourhoods that currently have no safe route to the "
    "station. Opponents argued that the 3.1 million budget should go to road repairs instead.\n\n"
    "This paragraph is invented for unmask's demo; Riverton and the people named do not exist.\n"
)


def jpeg_roundtrip(rgb: np.ndarray, quality: int) -> np.ndarray:
    """Compress and decode, as a camera or an earlier save would have: the pixels carry that history."""
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format="JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


def save_jpeg(rgb: np.ndarray, path: Path, quality: int, exif: Image.Exif | None = None) -> None:
    kwargs = {"exif": exif.tobytes()} if exif is not None else {}
    Image.fromarray(rgb).save(path, format="JPEG", quality=quality, **kwargs)


def authentic(data, out: Path) -> str:
    save_jpeg(data.coffee(), out / "photo_authentic.jpg", 90)
    return "photo_authentic.jpg"


def spliced(data, out: Path) -> str:
    """A region of one photo (saved at quality 95) pasted off the 8x8 grid into another (saved at 70)."""
    host = jpeg_roundtrip(data.astronaut(), 70).copy()
    donor = jpeg_roundtrip(data.chelsea(), 95)
    x0, y0, x1, y1 = SPLICE_BOX
    host[y0:y1, x0:x1] = donor[60:60 + (y1 - y0), 150:150 + (x1 - x0)]
    save_jpeg(host, out / "spliced.jpg", 90)
    return "spliced.jpg"


def _disc(radius: int) -> np.ndarray:
    yy, xx = np.mgrid[-radius:radius + 1, -radius:radius + 1]
    return (xx**2 + yy**2) <= radius**2


def copy_moved(data, out: Path) -> str:
    """A disc of the photo copied, rotated and pasted elsewhere in the same photo (copy-move)."""
    img = data.chelsea().copy()
    (sx, sy), (tx, ty), r = COPY_SOURCE_CENTRE, COPY_TARGET_CENTRE, COPY_RADIUS
    pad = r * 2  # cut a larger square so rotation never pulls in empty corners
    square = Image.fromarray(img[sy - pad:sy + pad + 1, sx - pad:sx + pad + 1])
    rotated = np.asarray(square.rotate(COPY_ANGLE, resample=Image.Resampling.BICUBIC))
    patch = rotated[pad - r:pad + r + 1, pad - r:pad + r + 1]
    disc = _disc(r)
    region = img[ty - r:ty + r + 1, tx - r:tx + r + 1]
    region[disc] = patch[disc]
    save_jpeg(img, out / "copy_moved.jpg", 92)
    return "copy_moved.jpg"


def generator_png(data, out: Path) -> str:
    """A PNG carrying a Stable Diffusion web UI ('A1111') 'parameters' text chunk, as that tool writes it."""
    from PIL import PngImagePlugin

    im = Image.fromarray(data.chelsea()).resize((300, 200), Image.Resampling.LANCZOS)
    info = PngImagePlugin.PngInfo()
    info.add_text("parameters", SD_PARAMETERS)
    im.save(out / "generated_sd.png", format="PNG", pnginfo=info)
    return "generated_sd.png"


def photoshop_exif(data, out: Path) -> str:
    """A JPEG whose EXIF names a camera and Adobe Photoshop as the software that last saved it."""
    exif = Image.Exif()
    exif[0x010F] = "Canon"  # Make
    exif[0x0110] = "Canon EOS 5D Mark IV"  # Model
    exif[0x0131] = "Adobe Photoshop 25.0 (Windows)"  # Software
    exif[0x0132] = "2024:03:14 10:22:31"  # DateTime (last modified)
    exif.get_ifd(0x8769)[0x9003] = "2024:03:09 16:05:12"  # DateTimeOriginal (capture)
    save_jpeg(data.rocket(), out / "edited_exif.jpg", 88, exif=exif)
    return "edited_exif.jpg"


def video(data, out: Path, seconds: float = 2.0, fps: int = 10) -> str | None:
    """A short H.264 MP4: a slow pan across a photo, encoded single-threaded for reproducible bytes."""
    try:
        import av
    except ImportError:
        print("PyAV is not installed: skipping the video sample", file=sys.stderr)
        return None
    photo = data.astronaut()
    w, h = 192, 144
    path = out / "clip.mp4"
    with av.open(str(path), mode="w", options={"fflags": "+bitexact"}) as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"crf": "30", "preset": "medium", "threads": "1"}
        stream.codec_context.flags |= av.codec.context.Flags.bitexact
        for i in range(int(seconds * fps)):
            x = 40 + 4 * i
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(photo[100:100 + h, x:x + w]), format="rgb24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())
    return "clip.mp4"


def audio(out: Path, seconds: float = 1.5, rate: int = 16000) -> str:
    """A synthetic 16-bit mono WAV: a vowel-like tone (150 Hz with decaying harmonics) with a slow vibrato."""
    t = np.arange(int(seconds * rate)) / rate
    f0 = 150.0 * (1 + 0.02 * np.sin(2 * np.pi * 5 * t))
    phase = 2 * np.pi * np.cumsum(f0) / rate
    signal = sum(np.sin(k * phase) / k**1.2 for k in range(1, 12))
    envelope = np.minimum(1.0, np.minimum(t, seconds - t) / 0.05)
    pcm = np.round(signal / np.abs(signal).max() * envelope * 0.6 * 32767).astype("<i2")
    with wave.open(str(out / "tone.wav"), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(rate)
        f.writeframes(pcm.tobytes())
    return "tone.wav"


def texts(out: Path, image: str) -> list[str]:
    (out / "news_snippet.txt").write_text(NEWS_TEXT, encoding="utf-8")
    post = {
        "text": "Astronaut spotted with her cat on the launch pad this morning! #space #cats",
        "images": [image],
        "author": "@demo_account",
        "created_at": "2024-05-01T09:30:00Z",
        "note": "Invented for unmask's demo; the image is the spliced sample.",
    }
    (out / "post.json").write_text(json.dumps(post, indent=2) + "\n", encoding="utf-8")
    return ["news_snippet.txt", "post.json"]


def make_all(out: Path) -> list[str]:
    """Write every sample into `out` and return the file names."""
    from skimage import data

    out.mkdir(parents=True, exist_ok=True)
    names = [authentic(data, out), spliced(data, out), copy_moved(data, out), generator_png(data, out),
             photoshop_exif(data, out), video(data, out), audio(out)]
    names += texts(out, "spliced.jpg")
    return [n for n in names if n]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, nargs="?", default=Path("samples"), help="output directory")
    args = parser.parse_args(argv)
    names = make_all(args.out)
    total = sum((args.out / n).stat().st_size for n in names)
    for n in names:
        print(f"{(args.out / n).stat().st_size:>9,d}  {args.out / n}")
    print(f"{total:>9,d}  bytes in {len(names)} files")
    return 0


if __name__ == "__main__":
    sys.exit(main())
