"""Hostile and broken inputs: each gives a MediaError subclass with a code and a reason from `load()` (or loads
with a warning where that is the documented behaviour), and through `unmask scan` a per-file error line while
the rest of the batch is analysed."""

from __future__ import annotations

import json
import os
import struct
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import unmask
from unmask.cli import app
from unmask.errors import LimitExceeded, MediaError, UnsupportedMedia
from unmask.media import ImageMedia, TextMedia
from unmask.media import image as image_mod

DETS = "ela,metadata"
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def _rgb(seed: int = 0, size: int = 64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.linspace(0, 255, size * size * 3).reshape(size, size, 3)
    return np.clip(base + rng.normal(0, 10, base.shape), 0, 255).astype(np.uint8)


def _png_chunk(ctype: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + ctype + body + struct.pack(">I", zlib.crc32(ctype + body))


def bomb_png(width: int, height: int) -> bytes:
    """A valid PNG whose IHDR declares width x height RGB pixels, with a tiny (short) IDAT."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", ihdr) + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + _png_chunk(b"IEND", b""))


def bad_exif() -> bytes:
    """Big-endian TIFF EXIF whose IFD0 holds one entry (Make, 64 ASCII bytes) pointing far past the block."""
    tiff = b"MM\x00\x2a" + struct.pack(">I", 8) + struct.pack(">H", 1)
    tiff += struct.pack(">HHII", 0x010F, 2, 64, 5000) + struct.pack(">I", 0)
    return b"Exif\x00\x00" + tiff


def bad_exif_ifd_offset() -> bytes:
    """EXIF whose IFD0 offset lies outside the block."""
    return b"Exif\x00\x00" + b"MM\x00\x2a" + struct.pack(">I", 4000) + b"\x00" * 16


# --------------------------------------------------------------------------------------------- the cases


def _empty(mf) -> Path:
    return mf.write("empty.jpg", b"")


def _truncated_jpeg(mf) -> Path:
    data = mf.image_bytes(_rgb(), "JPEG", quality=90)
    return mf.write("truncated.jpg", data[: len(data) // 2])


def _junk(mf) -> Path:
    return mf.write("junk.jpg", np.random.default_rng(7).integers(0, 256, 2048, np.uint8).tobytes())


def _bomb(mf) -> Path:
    return mf.write("bomb.png", bomb_png(100_000, 100_000))


def _ftyp_garbage(mf) -> Path:
    ftyp = struct.pack(">I", 24) + b"ftypisom" + b"\x00\x00\x02\x00" + b"isomiso2"
    return mf.write("garbage.mp4", ftyp + np.random.default_rng(3).integers(0, 256, 8192, np.uint8).tobytes())


def _mp4_middle_overwritten(mf) -> Path:
    data = bytearray(mf.video("real.mp4", seconds=2.0).read_bytes())
    n = len(data)
    data[n // 3: 2 * n // 3] = np.random.default_rng(4).integers(0, 256, 2 * n // 3 - n // 3, np.uint8).tobytes()
    return mf.write("middle.mp4", bytes(data))


def _lying_wav(mf) -> Path:
    data = bytearray(mf.wav("real.wav", np.zeros(8000, np.float32), 8000).read_bytes())
    assert data[36:40] == b"data"
    struct.pack_into("<I", data, 40, 10_000_000)
    return mf.write("lying.wav", bytes(data))


def _unreadable(mf) -> Path:
    path = mf.jpeg("locked.jpg", _rgb())
    path.chmod(0)
    return path


def _fifo(mf) -> Path:
    path = mf.path("pipe.jpg")
    os.mkfifo(path)
    return path


def _directory(mf) -> Path:
    path = mf.path("folder.jpg")
    path.mkdir()
    return path


def _latin1(mf) -> Path:
    return mf.write("latin1.txt", "Café au lait, naïve résumé\n".encode("latin-1"))


def _utf16(mf) -> Path:
    return mf.write("utf16.txt", "Hello in UTF-16 with a byte-order mark\n".encode("utf-16"))


def _utf16_be(mf) -> Path:
    return mf.write("utf16be.txt", b"\xfe\xff" + "Big-endian text\n".encode("utf-16-be"))


def _post_number_text(mf) -> Path:
    return mf.write("post.json", json.dumps({"text": 42, "images": []}).encode())


# name -> (builder, exception type, code, message pattern)
FAILS: dict[str, tuple[Callable, type, str, str]] = {
    "empty": (_empty, MediaError, "empty", r"empty \(0 bytes\)"),
    "truncated_jpeg": (_truncated_jpeg, MediaError, "truncated", r"JPEG data is truncated: the file ends after"),
    "junk": (_junk, UnsupportedMedia, "unsupported_media", r"unrecognised content \(first bytes "),
    "bomb": (_bomb, LimitExceeded, "limit_exceeded", r"declares 10,000,000,000 pixels, above the 100,000,000-pixel limit"),
    "ftyp_garbage": (_ftyp_garbage, MediaError, "corrupt", r"container is corrupt or not supported"),
    "mp4_middle": (_mp4_middle_overwritten, MediaError, "corrupt", r"corrupt"),
    "lying_wav": (_lying_wav, MediaError, "truncated", r"claims 10000000 bytes of audio but the file holds 16000"),
    "unreadable": (_unreadable, MediaError, "unreadable", r"permission denied"),
    "fifo": (_fifo, MediaError, "not_regular_file", r"is a FIFO \(named pipe\), not a regular file"),
    "directory": (_directory, MediaError, "is_directory", r"is a directory, not a file"),
    "latin1": (_latin1, MediaError, "encoding", r"not valid UTF-8 \(byte 3: b'\\xe9'\); re-save it as UTF-8"),
    "utf16": (_utf16, MediaError, "encoding", r"encoded as UTF-16; re-save it as UTF-8"),
    "utf16_be": (_utf16_be, MediaError, "encoding", r"encoded as UTF-16; re-save it as UTF-8"),
    "post_number_text": (_post_number_text, MediaError, "media_error", r"string field 'text'"),
}


@pytest.mark.timeout(10)
@pytest.mark.parametrize("case", list(FAILS))
def test_bad_input_raises_a_media_error_with_a_reason(media_files, case):
    build, exc_type, code, pattern = FAILS[case]
    if case == "unreadable" and IS_ROOT:
        pytest.skip("root can read a chmod 000 file")
    path = build(media_files)
    with pytest.raises(exc_type, match=pattern) as info:
        unmask.load(path)
    assert info.value.code == code
    assert isinstance(info.value, MediaError)


@pytest.mark.parametrize("case", ["empty", "truncated_jpeg", "junk", "bomb", "ftyp_garbage", "lying_wav",
                                  "latin1", "utf16", "post_number_text"])
def test_bad_bytes_fail_the_same_way_without_a_path(media_files, case):
    build, exc_type, code, pattern = FAILS[case]
    with pytest.raises(exc_type, match=pattern) as info:
        unmask.load(build(media_files).read_bytes())
    assert info.value.code == code


def test_unreadable_file_is_refused(media_files, monkeypatch):
    """Root reads a chmod 000 file, so the denial is simulated where the test runs as root."""
    path = _unreadable(media_files)
    if IS_ROOT:
        real_open = Path.open

        def deny(self, *args, **kwargs):
            if self == path:
                raise PermissionError(13, "Permission denied", str(self))
            return real_open(self, *args, **kwargs)

        monkeypatch.setattr(Path, "open", deny)
    with pytest.raises(MediaError, match="permission denied reading") as info:
        unmask.load(path)
    assert info.value.code == "unreadable"


@pytest.mark.parametrize("size", [(100_000, 100_000), (12_000, 12_000)])
def test_decompression_bomb_is_refused_from_the_header_before_decoding(monkeypatch, size):
    def never(*args, **kwargs):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(image_mod, "_decode_first_frame", never)
    with pytest.raises(LimitExceeded, match="pixels") as info:
        unmask.load(bomb_png(*size))
    if size == (12_000, 12_000):  # below Pillow's own bomb check: ours names the size and the limit
        assert "12000x12000 = 144,000,000 pixels, above the 100,000,000-pixel limit" in str(info.value)
    assert info.value.code == "limit_exceeded"


def test_text_named_jpg_loads_as_text(media_files):
    """Documented in docs/data-formats.md: the content decides, so this is text, not a broken JPEG."""
    path = media_files.write("photo.jpg", b"This is a caption, not a photo.\n")
    media = unmask.load(path)
    assert isinstance(media, TextMedia) and media.text == "This is a caption, not a photo.\n"


@pytest.mark.parametrize("exif", [bad_exif(), bad_exif_ifd_offset()], ids=["tag_offset", "ifd_offset"])
def test_malformed_exif_loads_with_a_warning_and_no_python_warning(media_files, exif):
    data = media_files.image_bytes(_rgb(), "JPEG", exif=exif)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning escaping the loader fails the test
        media = unmask.load(data)
    assert isinstance(media, ImageMedia) and media.rgb.shape == (64, 64, 3)
    assert any(w.startswith("EXIF is malformed (EXIF IFD0") for w in media.warnings), media.warnings


@pytest.mark.timeout(10)
def test_fifo_is_refused_without_blocking(media_files):
    path = _fifo(media_files)  # opening it for reading would block until a writer appears
    with pytest.raises(MediaError, match="FIFO"):
        unmask.load(path)
    with pytest.raises(MediaError, match="FIFO"):
        unmask.load(str(path))


def test_post_with_bad_images_field(media_files):
    with pytest.raises(MediaError, match="post 'images' must be a string or a list of strings"):
        unmask.load(json.dumps({"text": "hi", "images": [1, 2]}).encode())


# ------------------------------------------------------------------------------------------------ CLI


BATCH = ["good", "empty", "truncated_jpeg", "text_named_jpg", "junk", "bomb", "bad_exif", "ftyp_garbage",
         "mp4_middle", "lying_wav", "unreadable", "fifo", "latin1", "utf16", "post_number_text"]
# A directory is expanded by the CLI, not loaded: the looping one below stands for it.


def _batch_inputs(mf, tmp_path: Path) -> tuple[list[Path], list[bool], list[str]]:
    """(paths in order, analysed?, expected error code) for every case, skipping what root can read."""
    paths, analysed, codes = [], [], []
    for case in BATCH:
        if case == "unreadable" and IS_ROOT:
            continue
        if case == "good":
            path, ok, code = mf.jpeg("good.jpg", _rgb(1)), True, ""
        elif case == "text_named_jpg":
            path, ok, code = mf.write("caption.jpg", b"A caption, not a photo.\n"), True, ""
        elif case == "bad_exif":
            path, ok, code = mf.write("bad_exif.jpg", mf.image_bytes(_rgb(2), "JPEG", exif=bad_exif())), True, ""
        else:
            build, _, code, _ = FAILS[case]
            path, ok = build(mf), False
        paths.append(path)
        analysed.append(ok)
        codes.append(code)
    return paths, analysed, codes


@pytest.mark.timeout(60)
def test_cli_batch_of_bad_inputs_reports_each_and_analyses_the_rest(media_files, tmp_path):
    paths, analysed, codes = _batch_inputs(media_files, tmp_path)
    loop_dir = tmp_path / "loopy"
    loop_dir.mkdir()
    (loop_dir / "zero.jpg").write_bytes(b"")
    os.symlink(loop_dir, loop_dir / "again")
    out = tmp_path / "out" / "r.jsonl"
    result = CliRunner().invoke(app, ["scan", *map(str, paths), str(loop_dir), "--recursive", "--json", str(out),
                                      "--detectors", DETS, "--quiet"], env={"COLUMNS": "200"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["media"]["path"] for r in rows] == [str(p) for p in paths] + [str(loop_dir / "zero.jpg")]
    for row, ok, code in zip(rows, [*analysed, False], [*codes, "empty"], strict=True):
        name = Path(row["media"]["path"]).name
        fatal = [e for e in row["errors"] if e["fatal"]]
        if ok:
            assert row["verdict"] is not None and not fatal, (name, row["errors"])
        else:
            assert row["verdict"] is None, name
            assert [e["code"] for e in fatal] == [code] and fatal[0]["message"], (name, row["errors"])
    by_name = {Path(r["media"]["path"]).name: r for r in rows}
    assert by_name["good.jpg"]["media"]["kind"] == "image"
    assert by_name["caption.jpg"]["media"]["kind"] == "text"
    exif_warnings = [e for e in by_name["bad_exif.jpg"]["errors"] if e["code"] == "media_warning"]
    assert exif_warnings and not exif_warnings[0]["fatal"]
    assert any("EXIF is malformed" in e["message"] for e in exif_warnings)
    assert "symlink loop" in " ".join(result.stderr.split())
    assert f"{sum(not a for a in analysed) + 1} of {len(rows)} file(s) could not be analysed" in " ".join(
        result.stderr.split())
