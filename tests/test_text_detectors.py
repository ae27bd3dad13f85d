"""The shipped text detectors end to end: golden outputs, highlighted words that point at the text, claim
context in posts, and the bad text a user has (empty, emoji only, binary junk, HTML, mixed scripts, huge)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import unmask
from helpers import ASSETS, asset_module, png
from unmask.cli import app
from unmask.detectors.registry import Registry
from unmask.errors import MediaError

GOLDEN = json.loads((ASSETS / "text_golden.json").read_text())
TEXT_DETECTORS = ("tfidf_lr", "text_encoder")


def installed(name: str) -> bool:
    return Registry.default(plugins=False).get(name).installed()


def only(report, name: str):
    [entry] = [e for e in report.evidence if e.detector == name]
    return entry


def test_golden_covers_the_shipped_text_models() -> None:
    assert "tfidf_lr" in GOLDEN


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_scores_and_highlights_match_the_golden_values(name: str) -> None:
    if not installed(name):
        pytest.skip(f"{name} needs the text extra")
    golden = asset_module("make_text_golden")
    for key, want in GOLDEN[name].items():
        got = golden.run(name, key)
        assert got["score"] == pytest.approx(want["score"], abs=1e-4), key
        assert [t[:2] for t in got["tokens"]] == [t[:2] for t in want["tokens"]], key


@pytest.mark.parametrize("name", TEXT_DETECTORS)
def test_highlighted_words_are_words_of_the_text(name: str, tmp_path: Path) -> None:
    if not installed(name):
        pytest.skip(f"{name} needs the text extra")
    text = "<p>Breaking: the <b>mayor</b> secretly sold the city's water to a foreign company!!!</p> 🙂"
    path = tmp_path / "claim.txt"
    path.write_text(text, encoding="utf-8")
    entry = only(unmask.analyze(path, detectors=[name]), name)
    assert 0.0 <= entry.score <= 1.0 and entry.tokens
    for t in entry.tokens:
        assert text[t.start:t.end] == t.text and "<" not in t.text and 0 < t.score <= 1
    assert "not whether the facts are true" in entry.summary


def test_a_post_uses_its_context_and_says_so(tmp_path: Path) -> None:
    post = {"text": "The unemployment rate fell to its lowest level in 50 years.", "speaker": "jane-doe",
            "party": "independent", "credit_history": [2, 9, 1, 0, 6]}
    path = tmp_path / "post.json"
    path.write_text(json.dumps(post))
    entry = only(unmask.analyze(path, detectors=["tfidf_lr"]), "tfidf_lr")
    assert entry.details["context_fields"] == ["credit_history", "party", "speaker"]
    assert entry.details["context_logit"] != 0.0
    assert "18 earlier rated claims, 83% false or pants-fire" in entry.summary
    plain = dict(post, speaker="", party="", credit_history=None)
    path.write_text(json.dumps(plain))
    bare = only(unmask.analyze(path, detectors=["tfidf_lr"]), "tfidf_lr")
    assert bare.details["context_logit"] == 0.0 and "earlier rated" not in bare.summary


@pytest.mark.parametrize("text", ["🙂🔥🙂", "!!! ... ???", "   \n\t  "])
def test_text_without_words_gets_no_opinion(text: str, tmp_path: Path) -> None:
    path = tmp_path / "t.txt"
    path.write_text(text, encoding="utf-8")
    report = unmask.analyze(path, detectors=["tfidf_lr"])
    assert report.verdict.label == "no-opinion"
    assert "no words" in only(report, "tfidf_lr").summary


def test_empty_and_binary_junk_get_clear_errors(tmp_path: Path) -> None:
    junk = tmp_path / "junk.txt"
    junk.write_bytes(bytes(range(256)) * 40)
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    for path, code in ((junk, "unsupported_media"), (empty, "empty")):
        report = unmask.analyze(path, detectors=["tfidf_lr"])
        assert report.verdict is None and [(e.code, e.fatal) for e in report.errors] == [(code, True)]
    with pytest.raises(MediaError):
        unmask.load(bytes(range(256)) * 40)


def test_mixed_scripts_and_a_long_text_are_read(tmp_path: Path) -> None:
    mixed = tmp_path / "mixed.txt"
    mixed.write_text("Officials said 今天下午 the bridge collapsed; Москва denies it. " * 3, encoding="utf-8")
    assert only(unmask.analyze(mixed, detectors=["tfidf_lr"]), "tfidf_lr").score is not None
    long = tmp_path / "long.txt"
    long.write_text("The council voted to raise taxes again. " * 40_000, encoding="utf-8")  # 1.6 M characters
    entry = only(unmask.analyze(long, detectors=["tfidf_lr"]), "tfidf_lr")
    assert entry.details["truncated"] and entry.details["chars_read"] == 200_000
    huge = tmp_path / "huge.txt"
    huge.write_text("word " * 2_100_000, encoding="utf-8")  # 10.5 MB
    report = unmask.analyze(huge, detectors=["tfidf_lr"])
    assert report.errors[0].fatal and "limit" in report.errors[0].message


def test_a_post_with_missing_and_hostile_images_still_gets_its_text_judged(tmp_path: Path) -> None:
    import numpy as np

    (tmp_path / "bad.png").write_bytes(png(np.zeros((8, 8, 3), np.uint8))[:40])  # truncated
    post = {"text": "Shark on the flooded highway after the storm, share now!", "images": ["missing.jpg", "bad.png"]}
    path = tmp_path / "post.json"
    path.write_text(json.dumps(post))
    report = unmask.analyze(path, detectors=["tfidf_lr"])
    assert only(report, "tfidf_lr").score is not None
    assert report.verdict.label != "no-opinion"


def test_scan_of_a_claim_words_the_verdict_for_text(tmp_path: Path) -> None:
    path = tmp_path / "claim.txt"
    path.write_text("Says the governor cut school funding by 40 percent while raising his own salary.")
    out = tmp_path / "out.jsonl"
    result = CliRunner().invoke(app, ["scan", str(path), "--detectors", "tfidf_lr", "--json", str(out)])
    assert result.exit_code in (0, 1), result.output
    report = json.loads(out.read_text().splitlines()[0])
    assert report["media"]["kind"] == "text"
    assert report["verdict"]["headline"] in ("Likely false or misleading", "No sign of a false claim",
                                              "Inconclusive")
    [entry] = report["evidence"]
    assert entry["tokens"] and all(path.read_text()[t["start"]:t["end"]] == t["text"] for t in entry["tokens"])
