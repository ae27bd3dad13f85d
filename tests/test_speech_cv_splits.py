"""benchmarks/speech_cv.py's splits: the balanced fold assignment, the real-speaker groups, and the
leave-one-system-out folds (one per synthesis family; real speakers never in two folds)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from unmask.train.audio import Clip

_PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "speech_cv.py"
_spec = importlib.util.spec_from_file_location("speech_cv", _PATH)
cv = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cv)


def test_balanced_folds_put_the_largest_group_first_into_the_emptiest_fold() -> None:
    where = cv.balanced_folds({"a": 10, "b": 6, "c": 5, "d": 1}, 2)
    assert where == {"a": 0, "b": 1, "c": 1, "d": 0}
    assert cv.balanced_folds({"x": 3, "y": 3}, 3) == {"x": 0, "y": 1}


def test_real_speakers_are_the_same_across_sources() -> None:
    assert cv.real_speaker("jik876/hifi-gan-demo", "hifigan_demo/ms/GT/ms_gt_1.flac", {}) == "VCTK"
    assert cv.real_speaker("jaywalnut310/vits-demo", "vits_demo/wavs/ss_01_gt.flac", {}) == "LJSpeech"
    assert cv.real_speaker("auspicious3000/autovc", "x", {"corpus": "VCTK", "speaker": "p225"}) == "VCTK"
    assert cv.real_speaker("coqui-ai/TTS", "x", {"corpus": "LJSpeech", "speaker": "LJ"}) == "LJSpeech"
    libri = [cv.real_speaker(g, "x", {"corpus": c, "speaker": "3575"})
             for g, c in (("CorentinJ/Real-Time-Voice-Cloning", "LibriSpeech"), ("mindslab-ai/univnet", "LibriTTS"))]
    assert libri == ["Libri:3575", "Libri:3575"]
    assert cv.real_speaker("neonbjb/tortoise-tts", "x", {"corpus": "t", "speaker": "emma"}) == "neonbjb/tortoise-tts:emma"


def test_every_dev_system_has_one_family() -> None:
    systems = [s for family in cv.FAMILIES.values() for s in family]
    assert len(systems) == len(set(systems)) == len(cv.FAMILY_OF)


def _clip(group: str, name: str, label: int, chain: str = "none") -> Clip:
    return Clip(np.zeros(1, np.float32), label, group, name, chain)


def test_system_folds_hold_out_a_family_with_whole_real_speakers() -> None:
    attrs = {("s1", "f1"): {"label": "fake", "system": "HGAN_V1"},
             ("s2", "f2"): {"label": "fake", "system": "HiFi-GAN"},
             ("s2", "f3"): {"label": "fake", "system": "WaveGrad"},
             ("s1", "r1"): {"label": "real", "corpus": "VCTK", "speaker": "p225"},
             ("s2", "r2"): {"label": "real", "corpus": "VCTK", "speaker": "p226"},
             ("s2", "r3"): {"label": "real", "corpus": "LibriTTS", "speaker": "19"}}
    every = [_clip(g, n, int(a["label"] == "fake"), ch) for (g, n), a in attrs.items() for ch in ("none", "mp3(64)")]
    fold, about = cv.system_folds(every, attrs)
    by_name = dict(zip([c.name for c in every], fold, strict=True))
    assert by_name["f1"] == by_name["f2"] == "HiFi-GAN" and by_name["f3"] == "WaveGrad"
    assert by_name["r1"] == by_name["r2"] == "HiFi-GAN" and by_name["r3"] == "WaveGrad"  # VCTK: one group of 2
    assert about["HiFi-GAN"]["systems"] == ["HGAN_V1", "HiFi-GAN"] and about["WaveGrad"]["real_clips"] == 1
    cv.check_speakers(every, fold, attrs)
    with pytest.raises(SystemExit, match="more than one fold"):
        cv.check_speakers(every, ["a"] * (len(every) - 1) + ["b"], attrs)
    with pytest.raises(SystemExit, match="without a family"):
        cv.system_folds([_clip("s", "n", 1)], {("s", "n"): {"label": "fake", "system": "NewVocoder"}})


def test_source_folds_keep_a_source_in_one_fold() -> None:
    every = [_clip(g, f"{g}{i}", i % 2) for g, n in (("a", 6), ("b", 4), ("c", 3)) for i in range(n)]
    fold, about = cv.source_folds(every, 2)
    assert about == {"fold 1": {"sources": ["a"], "clips": 6}, "fold 2": {"sources": ["b", "c"], "clips": 7}}
    assert {f for c, f in zip(every, fold, strict=True) if c.group == "b"} == {"fold 2"}


def test_finished_folds_come_from_every_checkpoint_of_the_same_run(tmp_path: Path) -> None:
    import json

    (tmp_path / "system_x.json").write_text(json.dumps({"key": "k", "folds": {"A": [0.1, None]}}))
    (tmp_path / "system_x_2.json").write_text(json.dumps({"key": "k", "folds": {"B": [0.9]}}))
    (tmp_path / "system_x_3.json").write_text(json.dumps({"key": "other", "folds": {"C": [0.5]}}))
    paths = sorted(tmp_path.glob("system_x*.json"))
    assert cv.finished("k", paths) == {"A": [0.1, None], "B": [0.9]}
    assert cv.finished("k", [tmp_path / "missing.json"]) == {}
