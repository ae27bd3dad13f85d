"""The speech corpus adapters (speech_more, speech_demos' source_repo, asvspoof2021, wavefake, in_the_wild,
partialspoof), each on a tiny fake copy of its layout built in tmp_path with real FLAC/WAV files; one test reads
../shared/data/speech_more when it is there."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from unmask.datasets import Item, Manifest, ManifestError, check_manifest, convert

soundfile = pytest.importorskip("soundfile")

SHARED_SPEECH_MORE = Path(__file__).resolve().parents[2] / "shared" / "data" / "speech_more"


def audio(path: Path, seconds: float = 0.05, rate: int = 16000, seed: int = 0) -> Path:
    """A short noise clip; FLAC or WAV by the suffix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    noise = np.random.default_rng(seed).normal(0, 0.1, int(seconds * rate)).astype(np.float32)
    soundfile.write(path, noise, rate)
    return path


def text(path: Path, content: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    return path


def by_path(manifest: Manifest) -> dict[str, Item]:
    return {item.path: item for item in manifest}


def all_files_found(manifest: Manifest) -> bool:
    report = check_manifest(manifest, hash_files=False)
    return not report.missing and not report.unreadable


# --- the shared speech folders -----------------------------------------------------------------------------


def test_speech_more_and_speech_demos(tmp_path: Path) -> None:
    more = tmp_path / "speech_more"
    audio(more / "pwg/real/LJ001-0001.flac")
    audio(more / "pwg/fake/LJ001-0001_pwg.flac", seed=1)
    audio(more / "tortoise/real/a.flac", seed=2)
    text(
        more / "manifest.csv",
        "path,label,system,source_repo,commit,language,speaker,corpus,licence,duration_s\n"
        "pwg/real/LJ001-0001.flac,real,bona_fide,kan-bayashi/ParallelWaveGAN,abc,en,LJ,LJSpeech,MIT,0.050\n"
        "pwg/fake/LJ001-0001_pwg.flac,fake,Parallel WaveGAN,kan-bayashi/ParallelWaveGAN,abc,en,LJ,,MIT,0.050\n"
        "tortoise/real/a.flac,real,bona_fide,neonbjb/tortoise-tts,def,en,,LibriTTS,Apache-2.0,0.050\n",
    )
    manifest = convert("speech_more", more)
    items = by_path(manifest)
    real, fake = items["pwg/real/LJ001-0001.flac"], items["pwg/fake/LJ001-0001_pwg.flac"]
    assert real.group == fake.group == "kan-bayashi/ParallelWaveGAN"
    assert items["tortoise/real/a.flac"].group == "neonbjb/tortoise-tts"
    assert fake.attrs["generator"] == "Parallel WaveGAN" and "generator" not in real.attrs
    assert (
        real.attrs["speaker"] == "LJ"
        and real.attrs["corpus"] == "LJSpeech"
        and real.attrs["language"] == "en"
    )
    assert real.attrs["source_repo"] == "kan-bayashi/ParallelWaveGAN" and real.attrs["duration_s"] == 0.05
    assert manifest.counts() == {"real": 2, "fake": 1} and all_files_found(manifest)

    demos = tmp_path / "speech_demos"
    text(
        demos / "manifest.csv", "path,label,system,source\nw/a.flac,fake,VITS,vits_demo\nw/b.flac,real,GT,x\n"
    )
    clips = convert("speech_demos", demos).items
    assert clips[0].attrs["source_repo"] == "jaywalnut310/vits-demo" and clips[1].attrs["source_repo"] == "x"
    assert clips[0].attrs["source"] == "vits_demo" and clips[0].attrs["generator"] == "VITS"
    # speech_demos' manifest has no source_repo column: not the speech_more layout
    with pytest.raises(ManifestError, match="not the speech_more layout"):
        convert("speech_more", demos)
    with pytest.raises(ManifestError, match="not found"):
        convert("speech_more", more / "pwg")


@pytest.mark.shared_data
@pytest.mark.skipif(not SHARED_SPEECH_MORE.is_dir(), reason="../shared/data/speech_more is absent")
def test_speech_more_reads_the_shared_folder() -> None:
    manifest = convert("speech_more", SHARED_SPEECH_MORE)
    counts = manifest.counts()
    assert counts["real"] > 0 and counts["fake"] > 0 and not manifest.notes
    assert all(item.group == item.attrs["source_repo"] for item in manifest)
    assert all(item.attrs.get("generator") for item in manifest if item.label == "fake")
    assert not any("generator" in item.attrs for item in manifest if item.label == "real")
    assert len({item.group for item in manifest}) > 5
    assert all(manifest.resolve(item.path).is_file() for item in manifest.items[::25])


# --- ASVspoof 2021 -----------------------------------------------------------------------------------------


def test_asvspoof2021_la_and_df(tmp_path: Path) -> None:
    text(
        tmp_path / "keys/LA/CM/trial_metadata.txt",
        "LA_0009 LA_E_9332881 alaw ita_tx A07 spoof notrim eval\n"
        "LA_0009 LA_E_1000001 alaw ita_tx bonafide bonafide notrim progress\n"
        "LA_0012 LA_E_1000006 gsm pstn A19 spoof notrim hidden_track\n"
        "garbage\n",
    )
    # DF keys as unpacked from DF-keys-full.tar.gz, audio in the four part folders of the DF release
    text(
        tmp_path / "DF-keys-full/keys/DF/CM/trial_metadata.txt",
        "LA_0023 DF_E_2000011 nocodec asvspoof A14 spoof notrim progress traditional_vocoder - - - -\n"
        "TEF2 DF_E_2000013 low_m4a vcc2020 Task1-team20 spoof notrim eval neural_vocoder_nonautoregressive "
        "Task1 team20 FF E\n"
        "LA_0023 DF_E_2000020 mp3m4a asvspoof bonafide bonafide notrim eval bonafide - - - -\n",
    )
    audio(tmp_path / "ASVspoof2021_LA_eval/flac/LA_E_9332881.flac")
    audio(tmp_path / "ASVspoof2021_LA_eval/flac/LA_E_1000001.flac", seed=1)
    audio(tmp_path / "ASVspoof2021_LA_eval/flac/LA_E_1000006.flac", seed=2)
    audio(tmp_path / "ASVspoof2021_DF_eval_part00/ASVspoof2021_DF_eval/flac/DF_E_2000011.flac", seed=3)
    audio(tmp_path / "ASVspoof2021_DF_eval_part01/ASVspoof2021_DF_eval/flac/DF_E_2000013.flac", seed=4)
    audio(tmp_path / "ASVspoof2021_DF_eval_part01/ASVspoof2021_DF_eval/flac/DF_E_2000020.flac", seed=5)
    manifest = convert("asvspoof2021", tmp_path)
    items = by_path(manifest)
    assert len(items) == 6 and manifest.notes == ["1 key line(s) could not be parsed"]
    assert all_files_found(manifest)
    spoof = items["ASVspoof2021_LA_eval/flac/LA_E_9332881.flac"]
    assert (spoof.label, spoof.label_raw, spoof.group, spoof.split) == ("fake", "spoof", "LA_0009", "eval")
    assert spoof.attrs == {
        "speaker": "LA_0009",
        "track": "LA",
        "codec": "alaw",
        "transmission": "ita_tx",
        "trim": "notrim",
        "phase": "eval",
        "generator": "A07",
    }
    bona = items["ASVspoof2021_LA_eval/flac/LA_E_1000001.flac"]
    assert (bona.label, bona.group, bona.attrs["phase"]) == ("real", "LA_0009", "progress")
    assert "generator" not in bona.attrs
    vcc = items["ASVspoof2021_DF_eval_part01/ASVspoof2021_DF_eval/flac/DF_E_2000013.flac"]
    assert (vcc.label, vcc.group, vcc.attrs["generator"]) == ("fake", "TEF2", "Task1-team20")
    assert vcc.attrs["source"] == "vcc2020" and vcc.attrs["vocoder"] == "neural_vocoder_nonautoregressive"
    df_real = items["ASVspoof2021_DF_eval_part01/ASVspoof2021_DF_eval/flac/DF_E_2000020.flac"]
    assert df_real.label == "real" and df_real.attrs["codec"] == "mp3m4a" and "generator" not in df_real.attrs
    assert "ASVspoof2021_DF_eval_part00/ASVspoof2021_DF_eval/flac/DF_E_2000011.flac" in items

    only_df = convert("asvspoof2021", tmp_path, track="DF")
    assert {i.attrs["track"] for i in only_df} == {"DF"} and len(only_df) == 3
    assert "skipped 3 line(s) of another track (not DF)" in only_df.notes
    with pytest.raises(ManifestError, match="track must be"):
        convert("asvspoof2021", tmp_path, track="PA")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ManifestError, match="no ASVspoof 2021 key file"):
        convert("asvspoof2021", tmp_path / "empty")


# --- WaveFake ----------------------------------------------------------------------------------------------


def test_wavefake(tmp_path: Path) -> None:
    gen = tmp_path / "generated_audio"
    audio(gen / "ljspeech_melgan/LJ001-0001_gen.wav")
    audio(gen / "ljspeech_hifiGAN/LJ001-0001_gen.wav", seed=1)
    audio(gen / "jsut_multi_band_melgan/BASIC5000_0001_gen.wav", seed=2)
    audio(gen / "common_voices_prompts_from_conformer_fastspeech2_pwg_ljspeech/gen_0.wav", seed=3)
    audio(tmp_path / "LJSpeech-1.1/wavs/LJ001-0001.wav", seed=4)
    text(tmp_path / "LJSpeech-1.1/metadata.csv", "LJ001-0001|Printing|Printing\n")
    manifest = convert("wavefake", tmp_path)
    items = by_path(manifest)
    assert len(items) == 5 and all_files_found(manifest)
    melgan = items["generated_audio/ljspeech_melgan/LJ001-0001_gen.wav"]
    assert (melgan.label, melgan.group, melgan.split) == ("fake", "ljspeech", None)
    assert melgan.attrs == {
        "corpus": "ljspeech",
        "utterance": "LJ001-0001",
        "generator": "melgan",
        "manipulation": "vocoder",
    }
    assert items["generated_audio/ljspeech_hifiGAN/LJ001-0001_gen.wav"].attrs["generator"] == "hifiGAN"
    jsut = items["generated_audio/jsut_multi_band_melgan/BASIC5000_0001_gen.wav"]
    assert (jsut.group, jsut.attrs["generator"]) == ("jsut", "multi_band_melgan")
    tts = items["generated_audio/common_voices_prompts_from_conformer_fastspeech2_pwg_ljspeech/gen_0.wav"]
    assert (tts.group, tts.attrs["generator"], tts.attrs["manipulation"]) == (
        "ljspeech",
        "conformer_fastspeech2_pwg",
        "tts",
    )
    real = items["LJSpeech-1.1/wavs/LJ001-0001.wav"]
    assert (real.label, real.group, real.attrs) == (
        "real",
        "ljspeech",
        {"corpus": "ljspeech", "utterance": "LJ001-0001"},
    )
    assert manifest.notes == [
        "no real jsut audio (jsut_ver1.1/basic5000/wav/ not found): its fakes have no real counterpart"
    ]

    # the fake folders straight under ROOT, with the JSUT corpus beside them
    audio(tmp_path / "flat/jsut_parallel_wavegan/BASIC5000_0002_gen.wav")
    audio(tmp_path / "flat/jsut_ver1.1/basic5000/wav/BASIC5000_0002.wav", seed=1)
    audio(tmp_path / "flat/ljspeech_real/LJ001-0002.wav", seed=2)  # a common rename of LJSpeech-1.1/wavs
    flat = convert("wavefake", tmp_path / "flat")
    assert [(i.label, i.group) for i in flat] == [("fake", "jsut"), ("real", "ljspeech"), ("real", "jsut")]
    assert "generator" not in flat.items[1].attrs and not flat.notes
    with pytest.raises(ManifestError, match="no WaveFake folder"):
        convert("wavefake", tmp_path / "LJSpeech-1.1")


# --- In-the-Wild -------------------------------------------------------------------------------------------


def test_in_the_wild(tmp_path: Path) -> None:
    release = tmp_path / "release_in_the_wild"
    for i in range(4):
        audio(release / f"{i}.wav", seed=i)
    text(
        release / "meta.csv",
        "file,speaker,label\n0.wav,Alec Guinness,spoof\n1.wav,Alec Guinness,bona-fide\n"
        "2.wav,Barack Obama,spoof\n3.wav,Barack Obama,unsure\n",
    )
    for root in (tmp_path, release, release / "meta.csv"):
        manifest = convert("in_the_wild", root)
        assert manifest.root == release and manifest.notes == [
            "skipped 1 row(s) labelled neither spoof nor bona-fide"
        ]
    items = by_path(manifest)
    assert (items["0.wav"].label, items["0.wav"].label_raw, items["0.wav"].group) == (
        "fake",
        "spoof",
        "Alec Guinness",
    )
    assert (items["1.wav"].label, items["1.wav"].group) == ("real", "Alec Guinness")
    assert items["2.wav"].attrs == {"speaker": "Barack Obama"} and "3.wav" not in items
    assert all_files_found(manifest)
    text(tmp_path / "other/meta.csv", "path,label\n0.wav,fake\n")
    with pytest.raises(ManifestError, match="not the In-the-Wild meta"):
        convert("in_the_wild", tmp_path / "other")
    (tmp_path / "other/meta.csv").unlink()
    with pytest.raises(ManifestError, match="no meta"):
        convert("in_the_wild", tmp_path / "other")


# --- PartialSpoof ------------------------------------------------------------------------------------------


def test_partialspoof(tmp_path: Path) -> None:
    db = tmp_path / "database"
    protocols = db / "protocols/PartialSpoof_LA_cm_protocols"
    text(
        protocols / "PartialSpoof.LA.cm.train.trl.txt",
        "LA_0079 CON_T_0000029 - CON spoof\nLA_0079 LA_T_1138215 - - bonafide\nLA_0080 CON_T_0000030 - CON spoof\n",
    )
    text(protocols / "PartialSpoof.LA.cm.dev.trl.txt", "LA_0069 CON_D_0000001 - CON spoof\n")
    for i, utt in enumerate(["CON_T_0000029", "LA_T_1138215", "CON_T_0000030"]):
        audio(db / f"train/con_wav/{utt}.wav", seconds=1.0, seed=i)
    audio(db / "dev/con_wav/CON_D_0000001.wav", seconds=0.5)
    # 1 = bona fide segment, 0 = spoofed segment, one value per 0.16 s; the release stores the strings '0'/'1'
    train = {
        "CON_T_0000029": np.array(list("1100111")),
        "LA_T_1138215": np.array(list("111111")),
        "CON_T_0000030": np.array(["0", "1", "1", "0"]),
    }
    (db / "segment_labels").mkdir()
    np.save(db / "segment_labels/train_seglab_0.16.npy", np.array(train, dtype=object))
    # dev: one vector per utterance (integers), no dict file
    (db / "segment_labels/dev").mkdir()
    np.save(db / "segment_labels/dev/CON_D_0000001.npy", np.array([1, 0, 0]))

    manifest = convert("partialspoof", tmp_path)
    items = by_path(manifest)
    assert len(items) == 4 and not manifest.notes and all_files_found(manifest)
    spoof = items["database/train/con_wav/CON_T_0000029.wav"]
    assert (spoof.label, spoof.label_raw, spoof.group, spoof.split) == ("fake", "spoof", "LA_0079", "train")
    assert spoof.segments == [[0.32, 0.64]] and spoof.attrs["generator"] == "CON"
    assert spoof.attrs["spoof_fraction"] == round(2 / 7, 4)
    assert items["database/train/con_wav/CON_T_0000030.wav"].segments == [[0.0, 0.16], [0.48, 0.64]]
    bona = items["database/train/con_wav/LA_T_1138215.wav"]
    assert (bona.label, bona.segments, bona.group) == (
        "real",
        None,
        "LA_0079",
    ) and "generator" not in bona.attrs
    dev = items["database/dev/con_wav/CON_D_0000001.wav"]
    assert (dev.split, dev.segments, dev.group) == ("dev", [[0.16, 0.48]], "LA_0069")

    # ROOT may be the database folder itself; another resolution without its file leaves segments out
    coarse = convert("partialspoof", db, resolution="0.64")
    assert by_path(coarse)["train/con_wav/CON_T_0000029.wav"].segments is None
    assert coarse.notes == ["3 utterance(s) have no segment labels at resolution 0.64 s"]
    with pytest.raises(ManifestError, match="resolution must be"):
        convert("partialspoof", tmp_path, resolution="fine")
    with pytest.raises(ManifestError, match="no PartialSpoof protocol"):
        convert("partialspoof", db / "train")
