"""Regression tests for the user-visible defects listed in issue 14, each reproducing the command a user ran:
real files in a tmp folder, the real `unmask` command (Typer's CliRunner in-process, or the installed entry
point), the real web page in headless Chromium where the defect was on the page."""

from __future__ import annotations

import json
import re
import struct
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

import unmask
from unmask.cli import app
from unmask.errors import MediaError

DETS = "ela,metadata"
OBJECT_REPR = re.compile(r"object at 0x[0-9a-fA-F]+|<_io\.")
runner = CliRunner()


def invoke(*args: str | Path, columns: int = 200):
    """`unmask ARGS` in-process, at a terminal `columns` wide; a Python exception fails the test."""
    result = runner.invoke(app, [str(a) for a in args], env={"COLUMNS": str(columns)})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def reports(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _rgb(height: int = 48, width: int = 64, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = np.linspace(0, 255, height * width * 3).reshape(height, width, 3)
    return np.clip(base + rng.normal(0, 12, base.shape), 0, 255).astype(np.uint8)


# ------------------------------------------------------------------ 1. a JPEG cut at half its length


@pytest.fixture
def truncated_jpeg(media_files) -> tuple[Path, int]:
    """A real 64x48 JPEG cut at half its length (header intact, scan data short); returns (path, kept bytes)."""
    data = media_files.image_bytes(_rgb(48, 64), "JPEG", quality=90)
    kept = len(data) // 2
    return media_files.write("truncated.jpg", data[:kept]), kept


def test_scan_truncated_jpeg_says_the_data_is_cut_short_not_the_header(truncated_jpeg, tmp_path):
    path, kept = truncated_jpeg
    out = tmp_path / "out.jsonl"
    result = invoke("scan", path, "--detectors", DETS, "--json", out)
    assert result.exit_code == 1
    (report,) = reports(out)
    (error,) = report["errors"]
    assert error["fatal"] is True and error["code"] == "truncated"
    message = error["message"]
    assert message.startswith("JPEG data is truncated")
    assert f"the file ends after {kept:,} bytes, before the end-of-image marker" in message
    assert "64x48" in message and "header could not be read" not in message
    assert "JPEG data is truncated" in " ".join(result.output.split())
    with pytest.raises(MediaError) as info:  # the loader knows the file's kind, format and size
        unmask.load(path)
    assert info.value.media == {"kind": "image", "format": "jpeg", "width": 64, "height": 48}


def test_jpeg_cut_inside_its_header_says_so_with_the_declared_size(media_files):
    data = media_files.image_bytes(_rgb(48, 64), "JPEG", quality=90)
    cut = data.index(b"\xff\xda") + 6  # inside the start-of-scan header, after the frame header
    with pytest.raises(MediaError) as info:
        unmask.load(media_files.write("cut.jpg", data[:cut]))
    assert info.value.code == "truncated"
    assert f"ends after {cut:,} bytes, inside the header of a 64x48-pixel image" in str(info.value)


def test_scan_truncated_jpeg_reports_kind_format_and_size(truncated_jpeg, tmp_path):
    path, _ = truncated_jpeg
    out = tmp_path / "out.jsonl"
    invoke("scan", path, "--detectors", DETS, "--json", out)
    (report,) = reports(out)
    media = report["media"]
    assert (media["kind"], media["format"], media["width"], media["height"]) == ("image", "jpeg", 64, 48)


# ------------------------------------------------------------------ 2. no Python object reprs in messages


def test_scan_four_byte_jpeg_says_it_is_too_short_without_a_python_repr(media_files, tmp_path):
    path = media_files.write("tiny.jpg", bytes.fromhex("FF D8 FF E0"))
    out = tmp_path / "out.jsonl"
    result = invoke("scan", path, "--detectors", DETS, "--json", out)
    assert result.exit_code == 1
    (report,) = reports(out)
    (error,) = report["errors"]
    assert error["message"] == "JPEG file is too short to hold an image: 4 bytes, ending inside the header"
    assert not OBJECT_REPR.search(error["message"]) and not OBJECT_REPR.search(result.output)


def _wav_with_bad_format_code() -> bytes:
    """A WAV whose header walks fine but whose 'fmt ' chunk names a codec libsndfile refuses."""
    fmt = struct.pack("<HHIIHH", 77, 1, 8000, 16000, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", 8) + bytes(8)
    return b"RIFF" + struct.pack("<I", len(body)) + body


BROKEN = {
    "tiny_jpeg": bytes.fromhex("FF D8 FF E0"),
    "tiny_png": b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR",
    "jpeg_junk_header": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"x" * 200,
    "wav_bad_codec": _wav_with_bad_format_code(),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_loader_messages_carry_no_python_object_repr(case):
    pytest.importorskip("soundfile") if case.startswith("wav") else None
    with pytest.raises(MediaError) as info:
        unmask.load(BROKEN[case])  # from bytes: libraries see a BytesIO, whose repr used to leak
    assert not OBJECT_REPR.search(str(info.value)), str(info.value)


# ------------------------------------------------------------------ 3. a post whose image is missing


@pytest.mark.parametrize("post", [{"images": ["missing.jpg"]},
                                  {"text": "Flooding downtown", "images": ["missing.jpg"]}],
                         ids=["image_only", "with_text"])
def test_scan_post_with_a_missing_image_warns_naming_it(tmp_path, post):
    folder = tmp_path / "post"
    folder.mkdir()
    path = folder / "post.json"
    path.write_text(json.dumps(post), encoding="utf-8")
    out = tmp_path / "out.jsonl"
    result = invoke("scan", path, "--detectors", DETS, "--json", out)
    assert result.exit_code == 0, result.output
    (report,) = reports(out)
    assert report["media"]["kind"] == "post"
    warnings = [e for e in report["errors"] if "missing.jpg" in e["message"]]
    assert len(warnings) == 1, report["errors"]
    assert warnings[0]["fatal"] is False and warnings[0]["code"] == "media_warning"
    assert "not found" in warnings[0]["message"]


def test_post_with_a_present_image_and_a_url_gets_no_warning(media_files, tmp_path):
    media_files.jpeg("photo.jpg", _rgb())
    path = media_files.write("post.json", json.dumps(
        {"text": "hi", "images": ["photo.jpg", "https://example.org/a.jpg"]}).encode())
    media = unmask.load(path)
    assert [im.path.name for im in media.images] == ["photo.jpg"]
    assert media.image_refs == ["https://example.org/a.jpg"] and media.warnings == []


# ------------------------------------------------------------------ 5. the extra named for audio


def test_scan_flac_without_audio_libraries_names_the_audio_extra(media_files, monkeypatch):
    t = np.arange(8000) / 8000
    path = media_files.audio("x.flac", (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 8000, "FLAC")
    for module in ("soundfile", "av"):  # the core install: neither is importable
        monkeypatch.setitem(sys.modules, module, None)
    result = invoke("scan", path, "--detectors", DETS)
    assert result.exit_code == 1
    text = " ".join(result.output.split())
    assert 'pip install "unmask[audio]"' in text
    assert "unmask[video]" not in text


# ------------------------------------------------------------------ 4. two files with one name


def test_display_names_are_the_shortest_distinguishing_suffix():
    from unmask.report.names import display_names

    assert display_names(["dup/a/x.jpg", "dup/b/x.jpg", "dup/c/y.jpg"]) == ["a/x.jpg", "b/x.jpg", "y.jpg"]
    assert display_names(["x.jpg", "sub/x.jpg"]) == ["x.jpg", "sub/x.jpg"]
    assert display_names(["d\\a\\x.jpg", "e/a/x.jpg"]) == ["d/a/x.jpg", "e/a/x.jpg"]
    assert display_names(["/t/x.jpg", "/t/x.jpg", None]) == ["x.jpg", "x.jpg", "<bytes>"]  # one file twice


def test_scan_recursive_rows_for_two_files_with_one_name_are_told_apart(media_files, tmp_path):
    for sub in ("a", "b"):
        (tmp_path / "dup" / sub).mkdir(parents=True)
        media_files.jpeg(f"dup/{sub}/x.jpg", _rgb(seed=ord(sub)))
    result = invoke("scan", tmp_path / "dup", "-r", "--detectors", DETS)
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if "x.jpg" in line]
    assert len(rows) == 2
    assert "a/x.jpg" in rows[0] and "b/x.jpg" in rows[1]
    page = tmp_path / "dup.html"  # the HTML report's summary table too
    assert invoke("scan", tmp_path / "dup", "-r", "--detectors", DETS, "--html", page, "-q").exit_code == 0
    html = page.read_text()
    assert '>a/x.jpg</a>' in html and '>b/x.jpg</a>' in html


# ------------------------------------------------------------------ 8. `unmask detectors` at 80 columns


def _table_cells(output: str) -> list[list[str]]:
    """The body rows of a Rich table as cells (box-drawing borders removed)."""
    return [[c.strip() for c in line.strip().strip("│").split("│")]
            for line in output.splitlines() if line.startswith("│")]


@pytest.mark.parametrize("columns", [80, 60, 100, 120])
def test_detectors_table_never_breaks_a_name_or_a_word(columns):
    from unmask.detectors import Registry

    rows = Registry.default().describe()
    result = invoke("detectors", columns=columns)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(map(len, lines)) <= columns
    assert all(line.rstrip().endswith(("│", "┃", "┓", "┩", "┘")) for line in lines if line.startswith(("│", "┃")))
    cells = _table_cells(result.output)
    names = [row[0] for row in cells if row[0]]
    assert names == [r["name"] for r in rows]  # each name whole, on one line, in order
    from unmask.cli.catalog import _profiles

    words = {w for r in rows for v in [*r.values(), _profiles(r)] if isinstance(v, str | list)
             for w in (", ".join(v) if isinstance(v, list) else v).split()} | {"yes", "no", "all", "default,"}
    broken = {w for row in cells for cell in row for w in cell.split() if w not in words}
    assert not broken, f"words broken at {columns} columns: {sorted(broken)}"
    if columns < 110:
        assert "`unmask detectors NAME`" in " ".join(result.output.split())


# ------------------------------------------------------------------ 9. --help metavars

TYPE_METAVAR = re.compile(r"<[\w ]+(\[[^<>]*\])?>")  # <bool>, <str>, <int range>, <list[Path]>


def _command_paths() -> list[list[str]]:
    """Every command and sub-command of `unmask`, as the words a user types before --help."""
    import typer

    paths: list[list[str]] = []

    def walk(command, prefix: list[str]) -> None:
        paths.append(prefix)
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            walk(sub, [*prefix, name])

    walk(typer.main.get_command(app), [])
    return paths


def test_no_help_shows_a_python_type_as_a_metavar():
    paths = _command_paths()
    assert ["scan"] in paths and ["data", "check"] in paths and len(paths) > 10
    for words in paths:
        result = invoke(*words, "--help", columns=160)
        assert result.exit_code == 0, (words, result.output)
        found = TYPE_METAVAR.findall(result.output) and TYPE_METAVAR.search(result.output).group(0)
        assert not found, f"`unmask {' '.join(words)} --help` shows {found}"


def test_scan_help_names_paths_and_gives_flags_no_value():
    text = invoke("scan", "--help", columns=160).output
    assert "PATH..." in text and "{PATH}..." in text
    quiet = next(line for line in text.splitlines() if "--quiet" in line)
    assert quiet.split(" -q ", 1)[1].split()[0] == "No"  # the help text follows the flag directly
    workers = next(line for line in text.splitlines() if "--workers" in line)
    assert "INTEGER" in workers


# ------------------------------------------------------------------ 6. the install's license warning


def test_pyproject_gives_setuptools_no_license_deprecation_warning():
    """What `pip install -e .` runs first: setuptools reads pyproject.toml (the warning was printed here)."""
    import tomllib
    import warnings

    pytest.importorskip("setuptools")
    from setuptools.config import pyprojecttoml
    from setuptools.dist import Distribution

    root = Path(__file__).resolve().parents[1]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        pyprojecttoml.apply_configuration(Distribution(), str(root / "pyproject.toml"))
    assert not [w for w in caught if "license" in str(w.message).lower()], [str(w.message) for w in caught]
    requires = tomllib.loads((root / "pyproject.toml").read_text())["build-system"]["requires"]
    (pin,) = [r for r in requires if r.startswith("setuptools")]
    assert int(pin.split(">=")[1].split(".")[0]) >= 77  # the first setuptools that reads an SPDX license string
