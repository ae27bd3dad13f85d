"""The cross-modal post checks (issue 17, item 2): perceptual hashes, the local image index, the post and
capture dates, and the detectors image_reuse, post_date_check and post_ocr, in the library and through the
`unmask index` and `unmask scan` commands, on real pictures made here (scikit-image photos, Pillow EXIF)."""

from __future__ import annotations

import datetime as dt
import importlib.util
import io
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont
from typer.testing import CliRunner

from unmask.analysis import Analyzer
from unmask.cli import app
from unmask.detectors.post.image_reuse import ImageReuse
from unmask.detectors.post.post_date_check import PostDateCheck
from unmask.errors import NotApplicable
from unmask.media import load
from unmask.posts import dates, phash
from unmask.posts.index import ImageIndex, IndexFileError

skdata = pytest.importorskip("skimage.data")
HAS_OCR = importlib.util.find_spec("rapidocr_onnxruntime") is not None
POST_DETECTORS = ["image_reuse", "post_date_check"]
runner = CliRunner()


def jpeg(rgb: np.ndarray, quality: int = 90, taken: str | None = None, camera: tuple[str, str] | None = None) -> bytes:
    """A JPEG with an optional EXIF capture date ('YYYY:MM:DD HH:MM:SS') and camera (make, model)."""
    exif = Image.Exif()
    if camera:
        exif[0x010F], exif[0x0110] = camera
    if taken:
        exif.get_ifd(0x8769)[0x9003] = taken
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality, exif=exif)
    return buf.getvalue()


def resized(rgb: np.ndarray, factor: float) -> np.ndarray:
    im = Image.fromarray(rgb)
    return np.asarray(im.resize((int(im.width * factor), int(im.height * factor)), Image.Resampling.BILINEAR))


def crop(rgb: np.ndarray, fraction: float) -> np.ndarray:
    h, w = rgb.shape[:2]
    dy, dx = int(h * fraction / 2), int(w * fraction / 2)
    return rgb[dy:h - dy, dx:w - dx]


def write_post(folder: Path, text: str, images: list[str], **fields) -> Path:
    path = folder / "post.json"
    path.write_text(json.dumps({"text": text, "images": images, **fields}), encoding="utf-8")
    return path


def sign(text: str) -> np.ndarray:
    """A picture with printed text, for OCR."""
    im = Image.new("RGB", (640, 160), "white")
    ImageDraw.Draw(im).text((20, 50), text, fill="black", font=ImageFont.load_default(size=40))
    return np.asarray(im)


@pytest.fixture(scope="module")
def photos() -> dict[str, np.ndarray]:
    return {"astronaut": skdata.astronaut(), "coffee": skdata.coffee(), "rocket": skdata.rocket(),
            "chelsea": skdata.chelsea()}


@pytest.fixture
def archive(tmp_path, photos) -> Path:
    """A folder of pictures the user has: an astronaut taken 2012-03-04, an undated coffee, a text file."""
    folder = tmp_path / "archive"
    folder.mkdir()
    (folder / "old.jpg").write_bytes(jpeg(photos["astronaut"], taken="2012:03:04 10:00:00",
                                          camera=("Canon", "Canon EOS 5D")))
    (folder / "coffee.jpg").write_bytes(jpeg(photos["coffee"]))
    (folder / "notes.txt").write_text("not a picture", encoding="utf-8")
    return folder


@pytest.fixture
def index_file(tmp_path, archive) -> Path:
    path = tmp_path / "index.sqlite"
    with ImageIndex(path, create=True) as ix:
        ix.add([archive])
    return path


# --- hashes -----------------------------------------------------------------------------------------------

def test_copies_match_and_different_pictures_do_not(photos):
    """Re-encoded, resized and lightly cropped copies are within both thresholds; other photos are not."""
    for rgb in photos.values():
        original = phash.image_hashes(rgb)
        for copy in (np.asarray(Image.open(io.BytesIO(jpeg(rgb, quality=50)))), resized(rgb, 0.4), crop(rgb, 0.05)):
            assert phash.is_match(*original.distance(phash.image_hashes(copy)))
    names = ["astronaut", "coffee", "rocket", "chelsea"]
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert not phash.is_match(*phash.image_hashes(photos[a]).distance(phash.image_hashes(photos[b])))


def test_hamming_many_agrees_with_hamming():
    values = np.array([0, 2**64 - 1, 0x0F0F, 1 << 63], dtype=np.uint64)
    query = 0xFFFF
    assert phash.hamming_many(values, query).tolist() == [phash.hamming(int(v), query) for v in values]


def test_a_flat_picture_is_too_plain_to_match():
    flat = np.full((64, 64, 3), 128, np.uint8)
    assert phash.image_hashes(flat).plain
    assert not phash.image_hashes(skdata.astronaut()).plain


# --- dates --------------------------------------------------------------------------------------------------

def test_post_dates_parse_from_the_usual_fields():
    assert dates.post_date({"created_at": "Wed Apr 17 18:57:37 +0000 2013"}) == (
        dt.datetime(2013, 4, 17, 18, 57, 37), "created_at")
    assert dates.post_date({"date": "2019-03-04T10:00:00+02:00"})[0] == dt.datetime(2019, 3, 4, 8, 0)
    assert dates.post_date({"timestamp": 1366224000})[0] == dt.datetime(2013, 4, 17, 18, 40)
    assert dates.post_date({"timestamp": "1366224000000"})[0] == dt.datetime(2013, 4, 17, 18, 40)
    assert dates.post_date({"date": "yesterday", "user": "x"}) is None
    assert dates.post_date({"date": "9999-01-01"}) is None


def test_dates_and_years_in_text():
    found = dates.dates_in("FLOODS 12 March 2019 / 2019-03-12 / 03/25/2019 / Oct 3rd, 2020")
    assert [f.when for f in found] == [dt.date(2019, 3, 12), dt.date(2019, 3, 12), dt.date(2019, 3, 25),
                                       dt.date(2020, 10, 3)]
    years = dates.years_in("In 2012 at 10:20, on 12/03/2019, not 20123")
    assert [(y.text, y.start) for y in years] == [("2012", 3)]
    assert dates.says_now("Happening NOW in NYC") == "Happening NOW"
    assert dates.gap_words(4 * 365.3) == "four years" and dates.gap_words(31) == "a month"


def test_capture_date_and_camera_come_from_exif(photos):
    image = load(jpeg(photos["coffee"], taken="2015:06:01 12:00:00", camera=("Apple", "iPhone 6")))
    shot = dates.capture(image)
    assert shot.when == dt.datetime(2015, 6, 1, 12) and shot.source == "EXIF DateTimeOriginal"
    assert shot.camera == "Apple iPhone 6"


# --- the index ----------------------------------------------------------------------------------------------

def test_index_add_info_search_update_remove(tmp_path, archive, photos):
    path = tmp_path / "ix.sqlite"
    with ImageIndex(path, create=True) as ix:
        result = ix.add([archive])
        assert (result.added, len(ix)) == (2, 2)
        assert [Path(p).name for p, _ in result.skipped] == ["notes.txt"]
        assert ix.add([archive]).unchanged == 2
        info = ix.info()
        assert (info.images, info.with_dates, info.oldest) == (2, 1, dt.datetime(2012, 3, 4, 10))
        query = phash.image_hashes(resized(photos["astronaut"], 0.5))
        [match] = ix.search(query)
        assert Path(match.image.path).name == "old.jpg" and match.image.camera == "Canon EOS 5D"
        assert ix.search(phash.image_hashes(photos["rocket"])) == []
        assert ix.remove(archive / "old.jpg") == 1 and len(ix) == 1
        assert ix.remove(archive) == 1 and len(ix) == 0


def test_index_finds_a_mirrored_copy(index_file, photos):
    flipped = phash.mirrored(photos["astronaut"])
    with ImageIndex(index_file) as ix:
        assert ix.search(phash.image_hashes(flipped)) == []
        [match] = ix.search(phash.image_hashes(flipped), mirrored=phash.image_hashes(phash.mirrored(flipped)))
    assert match.mirrored


def test_hostile_and_broken_files_are_skipped_with_a_reason(tmp_path, photos):
    folder = tmp_path / "bad"
    folder.mkdir()
    whole = jpeg(photos["coffee"])
    (folder / "truncated.jpg").write_bytes(whole[: len(whole) // 3])
    (folder / "junk.jpg").write_bytes(b"\x00garbage" * 100)
    (folder / "empty.png").write_bytes(b"")
    Image.new("RGB", (64, 64), "gray").save(folder / "flat.png")
    with ImageIndex(tmp_path / "ix.sqlite", create=True) as ix:
        result = ix.add([folder, tmp_path / "missing"])
        assert result.added == 0 and len(ix) == 0
    reasons = dict((Path(p).name, why) for p, why in result.skipped)
    assert set(reasons) == {"truncated.jpg", "junk.jpg", "empty.png", "flat.png", "missing"}
    assert "too plain" in reasons["flat.png"] and "no such file" in reasons["missing"]


def test_a_corrupt_or_foreign_index_file_is_a_clear_error(tmp_path):
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(IndexFileError, match="not a readable unmask image index"):
        ImageIndex(junk)
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as db:
        db.execute("CREATE TABLE t (x)")
    with pytest.raises(IndexFileError, match="not an unmask image index"):
        ImageIndex(other, create=True)
    with pytest.raises(IndexFileError, match="unmask index add"):
        ImageIndex(tmp_path / "nowhere.sqlite")


# --- detectors ----------------------------------------------------------------------------------------------

def analyse(post: Path, names: list[str], index: Path | None = None):
    options = {"image_reuse": {"index": str(index)}} if index is not None and "image_reuse" in names else None
    report = Analyzer(detectors=names, options=options).analyze(post)
    return report, {e.detector: e for e in report.evidence if e.part is None}


def test_an_old_indexed_photo_reposted_is_reported_with_both_dates(tmp_path, index_file, photos):
    (tmp_path / "pic.jpg").write_bytes(jpeg(resized(photos["astronaut"], 0.5), quality=70))
    post = write_post(tmp_path, "Flooding in the city right now", ["pic.jpg"], created_at="2016-05-01T09:00:00Z")
    report, ev = analyse(post, ["image_reuse"], index_file)
    e = ev["image_reuse"]
    assert e.score == 0.8 and e.details["band"] == "clear"
    assert e.summary == ("The photo in this post matches old.jpg in your image index, taken 2012-03-04, four "
                         "years before the post: an older picture re-posted as new.")
    [match] = e.details["images"][0]["matches"]
    assert match["taken"] == "2012-03-04T10:00:00" and match["days_before_post"] > 4 * 365
    assert report.verdict.label != "authentic"


def test_reuse_without_a_post_date_is_worth_a_look_and_no_match_gives_no_score(tmp_path, index_file, photos):
    (tmp_path / "a.jpg").write_bytes(jpeg(crop(photos["coffee"], 0.05)))
    (tmp_path / "b.jpg").write_bytes(jpeg(photos["rocket"]))
    _, ev = analyse(write_post(tmp_path, "look", ["b.jpg", "a.jpg"]), ["image_reuse"], index_file)
    assert ev["image_reuse"].score == 0.5
    assert ev["image_reuse"].summary.startswith("Picture 2 of this post matches coffee.jpg in your image index")
    assert "no date to compare" in ev["image_reuse"].summary
    _, ev = analyse(write_post(tmp_path, "look", ["b.jpg"]), ["image_reuse"], index_file)
    assert ev["image_reuse"].score is None and "matches none of the 2 pictures" in ev["image_reuse"].summary


def test_without_an_index_image_reuse_says_how_to_build_one(tmp_path, monkeypatch, photos):
    monkeypatch.setenv("UNMASK_CACHE", str(tmp_path / "cache"))
    (tmp_path / "pic.jpg").write_bytes(jpeg(photos["rocket"]))
    post = load(write_post(tmp_path, "x", ["pic.jpg"]))
    with pytest.raises(NotApplicable, match="unmask index add DIR"):
        ImageReuse().analyze(post)
    with ImageIndex(tmp_path / "cache" / "image-index.sqlite", create=True):
        pass  # the default index, empty
    with pytest.raises(NotApplicable, match="is empty"):
        ImageReuse().analyze(post)


def test_capture_date_against_post_date_and_claims(tmp_path, photos):
    (tmp_path / "old.jpg").write_bytes(jpeg(photos["coffee"], taken="2015:06:01 12:00:00",
                                            camera=("Apple", "iPhone 6")))
    detector = PostDateCheck()
    post = load(write_post(tmp_path, "Storm damage today", ["old.jpg"], date="2019-08-10"))
    e = detector.analyze(post)
    assert e.score == 0.75 and "2015-06-01" in e.summary and "four years before the post" in e.summary
    assert e.summary.endswith("Camera: Apple iPhone 6.")
    e = detector.analyze(load(write_post(tmp_path, "Storm damage today", ["old.jpg"])))
    assert e.score == 0.55 and "says \"today\"" in e.summary and "no date" in e.summary
    text = "The 2019 storm"
    e = detector.analyze(load(write_post(tmp_path, text, ["old.jpg"])))
    assert e.score == 0.55 and [(t.start, t.end, t.text) for t in e.tokens] == [(4, 8, "2019")]
    e = detector.analyze(load(write_post(tmp_path, "Storm damage", ["old.jpg"], date="2015-06-03")))
    assert e.score == 0.15 and "consistent" in e.summary
    e = detector.analyze(load(write_post(tmp_path, "Storm damage", ["old.jpg"])))
    assert e.score is None and "no date or claim" in e.summary


def test_a_picture_without_capture_date_makes_the_date_check_not_applicable(tmp_path, photos):
    (tmp_path / "plain.jpg").write_bytes(jpeg(photos["rocket"]))
    with pytest.raises(NotApplicable, match="no capture date"):
        PostDateCheck().analyze(load(write_post(tmp_path, "x", ["plain.jpg"], date="2019-08-10")))


def test_missing_and_hostile_post_images_give_warnings_not_crashes(tmp_path, index_file, photos):
    (tmp_path / "junk.jpg").write_bytes(b"\xff\xd8\xff\xe0" + b"\x00" * 50)
    (tmp_path / "bomb.png").write_bytes(_png_bomb())
    post = write_post(tmp_path, "today", ["missing.jpg", "junk.jpg", "bomb.png", "../outside.jpg",
                                          "https://example.org/x.jpg"], date="2020-01-01")
    report, ev = analyse(post, [*POST_DETECTORS, "post_ocr"] if HAS_OCR else POST_DETECTORS, index_file)
    assert report.analysed and not [e for e in report.errors if e.code == "detector_failed"]
    assert {e.details.get("not_applicable") for e in ev.values()} == {True}
    assert all("no picture" in e.summary for e in ev.values())
    warnings = " ".join(e.message for e in report.errors if e.code == "media_warning")
    assert "missing.jpg" in warnings and "junk.jpg" in warnings and "outside" in warnings


def _png_bomb() -> bytes:
    """A tiny PNG that declares 60000x60000 pixels (over the pixel limit)."""
    buf = io.BytesIO()
    Image.new("1", (60000, 60000)).save(buf, "PNG")
    return buf.getvalue()


@pytest.mark.skipif(not HAS_OCR, reason="rapidocr_onnxruntime is not installed (the `ocr` extra plus "
                    "`pip install --no-deps rapidocr-onnxruntime==1.4.4`)")
def test_ocr_reports_the_text_and_flags_only_a_contradicting_date(tmp_path):
    from unmask.detectors.post.post_ocr import PostOcr

    Image.fromarray(sign("FLOODS 12 March 2019")).save(tmp_path / "dated.png")
    Image.fromarray(sign("Photo: Jane Doe")).save(tmp_path / "credit.png")
    detector = PostOcr()
    e = detector.analyze(load(write_post(tmp_path, "Floods now", ["dated.png"], date="2023-04-17")))
    assert e.score == 0.5 and "\"12 March 2019\", four years before the post" in e.summary
    assert e.details["pictures"][0]["dates"] == ["12 March 2019"]
    e = detector.analyze(load(write_post(tmp_path, "Floods now", ["dated.png"], date="2019-03-13")))
    assert e.score is None and "FLOODS 12 March 2019" in e.summary
    e = detector.analyze(load(write_post(tmp_path, "Floods in 2023", ["credit.png"], date="2023-04-17")))
    assert e.score is None and "Jane" in e.details["pictures"][0]["text"]
    e = detector.analyze(load(write_post(tmp_path, "Floods in 2023", ["dated.png"])))
    assert e.score == 0.5 and [t.text for t in e.tokens] == ["2023"]
    Image.fromarray(sign("Friday 3/12/2014")).save(tmp_path / "ambiguous.png")
    e = detector.analyze(load(write_post(tmp_path, "Eclipse", ["ambiguous.png"], date="2014-03-18")))
    assert e.score is None, "12 March is a reading of 3/12/2014 that fits the post: no contradiction"
    Image.fromarray(sign("DOB: 7/22/1993")).save(tmp_path / "poster.png")
    e = detector.analyze(load(write_post(tmp_path, "Suspect named", ["poster.png"], date="2013-04-19")))
    assert e.score is None, "a birth date is not the date of an event"


# --- the command line ---------------------------------------------------------------------------------------

def invoke(*args: str | Path):
    result = runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def test_index_and_scan_end_to_end(tmp_path, archive, photos):
    index = tmp_path / "my-index.sqlite"
    result = invoke("index", "add", archive, "--index", index)
    assert result.exit_code == 1 and "2 added" in result.output and "notes.txt" in result.output
    result = invoke("index", "info", "--index", index)
    assert result.exit_code == 0 and "2 pictures, 1 with a capture date" in result.output
    (tmp_path / "pic.jpg").write_bytes(jpeg(resized(photos["astronaut"], 0.6), quality=75))
    post = write_post(tmp_path, "Breaking: flooding right now", ["pic.jpg"], created_at="Wed Apr 17 18:57:37 +0000 2013")
    out = tmp_path / "out.jsonl"
    result = invoke("scan", post, "--index", index, "--detectors", ",".join(POST_DETECTORS), "--json", out, "-q")
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    [reuse] = [e for e in report["evidence"] if e["detector"] == "image_reuse"]
    assert reuse["score"] == 0.8 and "a year before the post" in reuse["summary"]
    assert report["verdict"]["label"] != "authentic"
    result = invoke("index", "remove", archive, "--index", index)
    assert result.exit_code == 0 and "2 removed; 0 pictures left" in result.output


def test_scan_with_a_broken_index_is_a_usage_error(tmp_path, photos):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"\x00" * 4096)
    (tmp_path / "pic.jpg").write_bytes(jpeg(photos["rocket"]))
    post = write_post(tmp_path, "x", ["pic.jpg"])
    result = invoke("scan", post, "--index", bad, "--detectors", "image_reuse")
    assert result.exit_code == 2 and "not a readable unmask image index" in result.output
    result = invoke("scan", post, "--index", tmp_path / "none.sqlite", "--detectors", "image_reuse")
    assert result.exit_code == 2 and "unmask index add" in result.output
    result = invoke("index", "info", "--index", bad)
    assert result.exit_code == 2 and "not a readable unmask image index" in result.output


def test_an_unset_camera_clock_is_not_a_capture_date(tmp_path, photos):
    (tmp_path / "reset.jpg").write_bytes(jpeg(photos["coffee"], taken="2000:01:01 00:09:06"))
    post = load(write_post(tmp_path, "Storm today", ["reset.jpg"], date="2012-10-30"))
    assert dates.capture(post.images[0]).unset_clock == dt.datetime(2000, 1, 1, 0, 9, 6)
    with pytest.raises(NotApplicable, match="clock was never set"):
        PostDateCheck().analyze(post)


def test_an_ambiguous_day_and_month_has_both_readings():
    [found] = dates.dates_in("on 3/12/2014")
    assert found.readings == (dt.date(2014, 12, 3), dt.date(2014, 3, 12))
    [found] = dates.dates_in("on 25/03/2014")
    assert found.readings == (dt.date(2014, 3, 25),)


def test_index_add_follows_a_symlink_loop_once(tmp_path, archive):
    (archive / "sub").mkdir()
    (archive / "sub" / "loop").symlink_to(archive, target_is_directory=True)
    with ImageIndex(tmp_path / "ix.sqlite", create=True) as ix:
        result = ix.add([archive], recursive=True)
    assert result.added == 2 and len(result.skipped) == 1  # notes.txt
