"""unmask.datasets: the manifest format, every adapter on a tiny fake copy of its layout, `data check` and the
`unmask data` commands. Everything is built in tmp_path; nothing reads ../shared/data."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from unmask.cli import app
from unmask.datasets import Item, Manifest, ManifestError, check_manifest, convert
from unmask.datasets.adapters import available

runner = CliRunner()


def touch(path: Path, data: bytes = b"x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def image(path: Path, size: tuple[int, int] = (16, 12), seed: int = 0, quality: int = 90) -> Path:
    """A small noise image; the format follows the suffix (JPEG at `quality`)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    kwargs = {"quality": quality} if path.suffix.lower() in (".jpg", ".jpeg") else {}
    Image.fromarray(pixels).save(path, **kwargs)
    return path


def write_json(path: Path, data: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def by_path(manifest: Manifest) -> dict[str, Item]:
    return {item.path: item for item in manifest}


# --- manifest format--------------------------------------------------------------------------------------


def rich_items() -> list[Item]:
    return [
        Item(
            path="a/x.jpg",
            label="fake",
            label_raw="face_swap",
            mask="m/x.png",
            boxes=[[1, 2, 30, 40]],
            group="g1",
            split="train",
            attrs={"generator": "sd-1.5", "quality": 75, "ids": [1, 2]},
        ),
        Item(path="b.wav", label="fake", segments=[[0.5, 1.25], [2.0, 3.0]], split="test"),
        Item(label="real", text='a "quoted", comma\nand newline, ünïcode', tokens=[0, 3], group="g2"),
    ]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_manifest_round_trip(tmp_path: Path, suffix: str) -> None:
    manifest = Manifest(rich_items(), tmp_path)
    out = manifest.write(tmp_path / f"m{suffix}")
    back = Manifest.read(out)
    assert back.root == tmp_path
    assert [i.to_row() for i in back] == [i.to_row() for i in manifest]
    assert back.items[1].segments == [[0.5, 1.25], [2.0, 3.0]] and back.items[2].tokens == [0, 3]
    assert back.items[0].attrs == {"generator": "sd-1.5", "quality": 75, "ids": [1, 2]}


def test_parquet_round_trip(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    manifest = Manifest(rich_items(), tmp_path)
    back = Manifest.read(manifest.write(tmp_path / "m.parquet"))
    assert [i.to_row() for i in back] == [i.to_row() for i in manifest]


def test_write_elsewhere_keeps_files_resolvable(tmp_path: Path) -> None:
    manifest = Manifest([Item(path="data/x.jpg", label="real")], tmp_path / "root")
    inside = Manifest.read(manifest.write(tmp_path / "root" / "sub" / "m.jsonl"))
    outside = Manifest.read(manifest.write(tmp_path / "other" / "m.csv"))
    target = (tmp_path / "root" / "data" / "x.jpg").resolve()
    assert Path(outside.items[0].path).is_absolute()
    assert inside.resolve(inside.items[0].path).resolve() == target == outside.resolve(outside.items[0].path)


def test_plain_csv_extra_columns_become_attrs(tmp_path: Path) -> None:
    (tmp_path / "m.csv").write_text("path,label,generator\nai/1.jpg,FAKE,gan\nreal/2.jpg,real,\n")
    items = Manifest.read(tmp_path / "m.csv").items
    assert items[0].label == "fake" and items[0].attrs == {"generator": "gan"} and items[1].attrs == {}


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        (
            "bad_label.csv",
            "path,label\na.jpg,real\nb.jpg,maybe\n",
            "line 3: label 'maybe' is not 'real' or 'fake'",
        ),
        ("no_path.csv", "file,label\na.jpg,real\n", "no 'path' column"),
        ("no_label.csv", "path,y\na.jpg,1\n", "no 'label' column"),
        (
            "bad_json.csv",
            'path,label,segments\na.wav,fake,"[[0, 1]"\nb.wav,fake,"[[0,1]]"\n',
            "line 2: column 'segments' is not valid JSON",
        ),
        ("bad_shape.csv", 'path,label,boxes\na.jpg,fake,"[[0, 1, 2]]"\n', "line 2: column 'boxes' must be"),
        ("reversed.jsonl", '{"path": "a.wav", "label": "fake", "segments": [[3, 1]]}\n', "end comes before"),
        ("broken.jsonl", '{"path": "a", "label": "real"}\n{"path": \n', "line 2: not valid JSON"),
        (
            "empty_row.jsonl",
            '{"label": "real"}\n{"label": "real", "text": "hi"}\n',
            "line 1: the row has neither",
        ),
    ],
)
def test_validation_names_the_line(tmp_path: Path, name: str, content: str, expected: str) -> None:
    (tmp_path / name).write_text(content, encoding="utf-8")
    with pytest.raises(ManifestError, match=None) as err:
        Manifest.read(tmp_path / name)
    assert expected in str(err.value) and name in str(err.value)


# --- adapters---------------------------------------------------------------------------------------------


def test_registry_lists_and_suggests(tmp_path: Path) -> None:
    names = {a.name for a in available()}
    assert {"casia", "faceforensics", "dgm4", "lavdf", "asvspoof2019", "liar", "real_fake_folders"} <= names
    with pytest.raises(ManifestError, match="did you mean 'casia1'"):
        convert("casia_1", tmp_path)
    with pytest.raises(ManifestError, match="takes no option"):
        convert("liar", tmp_path, bogus="1")


def test_casia_folders(tmp_path: Path) -> None:
    for name in ("Au_ani_0001", "Au_sec_0002"):
        touch(tmp_path / "Au" / f"{name}.jpg")
    touch(tmp_path / "Sp" / "Sp_D_CND_A_pla0005_pla0023_0281.jpg")
    touch(tmp_path / "Sp" / "Sp_D_NNN_A_cha0052_cha0052_0309.jpg")  # mask letter differs, in gt/CM
    touch(tmp_path / "Sp" / "Sp_D_NRN_A_nat0019_cha0039_0320.jpg")  # mask swaps the two ids
    touch(tmp_path / "Sp" / "Sp_S_NNN_R_arc0003_arc0004_0051.jpg")  # no mask
    touch(tmp_path / "gt" / "Sp" / "Sp_D_CND_A_pla0005_pla0023_0281_gt.png")
    touch(tmp_path / "gt" / "CM" / "Sp_S_NNN_A_cha0052_cha0052_0309_gt.png")
    touch(tmp_path / "gt" / "Sp" / "Sp_D_NRN_A_cha0039_nat0019_0320_gt.png")
    manifest = convert("casia", tmp_path)
    items = by_path(manifest)
    assert manifest.counts() == {"real": 2, "fake": 4}
    assert items["Au/Au_ani_0001.jpg"].group == "ani0001"
    spliced = items["Sp/Sp_D_CND_A_pla0005_pla0023_0281.jpg"]
    assert spliced.mask == "gt/Sp/Sp_D_CND_A_pla0005_pla0023_0281_gt.png" and spliced.group == "pla0005"
    assert spliced.attrs["manipulation"] == "splicing"
    assert items["Sp/Sp_D_NNN_A_cha0052_cha0052_0309.jpg"].attrs["manipulation"] == "copy-move"
    assert items["Sp/Sp_D_NRN_A_nat0019_cha0039_0320.jpg"].mask.endswith("cha0039_nat0019_0320_gt.png")
    assert items["Sp/Sp_S_NNN_R_arc0003_arc0004_0051.jpg"].mask is None
    assert manifest.notes == ["1 tampered image(s) have no mask"]


def test_shared_folder_manifests(tmp_path: Path) -> None:
    casia1 = tmp_path / "casia1"
    (casia1 / "manifest.csv").parent.mkdir()
    (casia1 / "manifest.csv").write_text(
        "path,label,manipulation,mask,group\n"
        "Sp/a.jpg,fake,splicing,gt/Sp/a_gt.png,pla0005\nAu/b.jpg,real,,,ani0001\n"
    )
    items = convert("casia1", casia1).items
    assert items[0].mask == "gt/Sp/a_gt.png" and items[0].group == "pla0005"
    assert items[0].attrs == {"manipulation": "splicing"} and items[1].mask is None
    dfdc = tmp_path / "dfdc_faces"
    touch(
        dfdc / "manifest.csv",
        b"path,label,video,source_video\nf/a.jpg,fake,a.mp4,b.mp4\nf/b.jpg,real,b.mp4,b.mp4\n",
    )
    faces = convert("dfdc_faces", dfdc).items
    assert [i.group for i in faces] == ["b.mp4", "b.mp4"] and faces[0].attrs == {"video": "a.mp4"}
    speech = tmp_path / "speech"
    touch(
        speech / "manifest.csv",
        b"path,label,system,source\nw/a.flac,fake,VITS,vits_demo\nw/b.flac,real,GT,x\n",
    )
    clips = convert("speech_demos", speech).items
    assert clips[0].attrs["generator"] == "VITS" and "generator" not in clips[1].attrs
    aigi = tmp_path / "aigi"
    touch(aigi / "manifest.csv", b"path,label,generator\nai/a.jpg,fake,gan\nreal/b.jpg,real,\n")
    assert convert("aigi_photos", aigi).items[0].attrs == {"generator": "gan"}


def test_weibo_and_mediaeval(tmp_path: Path) -> None:
    weibo = tmp_path / "weibo"
    write_json(weibo / "posts" / "1_x_9.json", {"text": "谣言", "user": {}})
    write_json(weibo / "posts" / "2_y_9.json", {"text": "真的"})
    touch(weibo / "manifest.csv", b"path,label\nposts/1_x_9.json,fake\nposts/2_y_9.json,real\n")
    posts = convert("weibo_ced", weibo).items
    assert [(p.text, p.group) for p in posts] == [("谣言", "1_x_9"), ("真的", "2_y_9")]
    vmu = tmp_path / "vmu"
    touch(
        vmu / "devset_image_labels.csv",
        b"path,label,label_source,event\nI/b/f1.jpg,fake,posts.txt,Boston\n"
        b"I/b/r1.jpg,real,posts.txt,Boston\nI/s/u.jpg,unknown,,Sandy\n",
    )
    (vmu / "dev").mkdir()
    (vmu / "dev" / "posts.txt").write_text(
        "post_id\tpost_text\tuser_id\timage_id(s)\tusername\ttimestamp\tlabel\n"
        "1\tlook\t7\tboston_fake_03,boston_fake_35\tu\tt\tfake\n"
        "2\tsandy pic\t8\tsandyA_real_09\tv\tt\treal\n",
        encoding="utf-8",
    )
    images = convert("mediaeval_vmu", vmu)
    assert len(images) == 2 and images.items[0].group == "Boston" and "unknown" in images.notes[0]
    tweets = convert("mediaeval_vmu", vmu, items="posts").items
    assert [(t.label, t.group, t.text) for t in tweets] == [
        ("fake", "boston", "look"),
        ("real", "sandyA", "sandy pic"),
    ]
    assert tweets[0].attrs["image_ids"] == ["boston_fake_03", "boston_fake_35"]


def test_image_mask_pairs_coverage_columbia(tmp_path: Path) -> None:
    pairs = tmp_path / "nist"
    touch(pairs / "images" / "p1.jpg")
    touch(pairs / "images" / "p2.jpg")
    touch(pairs / "masks" / "p1_gt.png")
    touch(pairs / "masks" / "orphan_gt.png")
    manifest = convert("image_mask_pairs", pairs)
    assert by_path(manifest)["images/p1.jpg"].mask == "masks/p1_gt.png"
    assert by_path(manifest)["images/p2.jpg"].label == "real" and manifest.notes == [
        "1 mask(s) matched no image"
    ]
    cov = tmp_path / "coverage"
    for name in ("image/1.tif", "image/1t.tif", "mask/1forged.tif", "mask/1copy.tif", "mask/1paste.tif"):
        touch(cov / name)
    items = by_path(convert("coverage", cov))
    assert items["image/1t.tif"].label == "fake" and items["image/1t.tif"].mask == "mask/1forged.tif"
    assert items["image/1.tif"].label == "real" and items["image/1.tif"].mask is None
    col = tmp_path / "columbia"
    for name in (
        "4cam_auth/a1.tif",
        "4cam_splc/s1.tif",
        "4cam_splc/s2.tif",
        "4cam_splc/edgemask/s1_edgemask.jpg",
    ):
        touch(col / name)
    items = by_path(convert("columbia", col))
    assert items["4cam_splc/s1.tif"].mask == "4cam_splc/edgemask/s1_edgemask.jpg"
    assert items["4cam_splc/s2.tif"].label == "fake" and items["4cam_auth/a1.tif"].label == "real"


def test_real_fake_folders(tmp_path: Path) -> None:
    for name in (
        "train/airplane/0_real/a.png",
        "train/airplane/1_fake/b.png",
        "test/progan/car/1_fake/c.png",
        "test/biggan/0_real/d.png",
        "test/biggan/1_fake/e.png",
        "sdv4/train/ai/f.png",
        "sdv4/val/nature/g.png",
        "readme/h.png",
    ):
        touch(tmp_path / name)
    items = by_path(convert("real_fake_folders", tmp_path))
    assert len(items) == 7
    assert items["train/airplane/1_fake/b.png"].split == "train"
    assert items["train/airplane/1_fake/b.png"].attrs == {"category": "airplane"}
    assert items["test/progan/car/1_fake/c.png"].attrs == {
        "subset": "progan",
        "category": "car",
        "generator": "progan",
    }
    assert (
        items["test/biggan/0_real/d.png"].label == "real"
        and "generator" not in items["test/biggan/0_real/d.png"].attrs
    )
    genimage = items["sdv4/train/ai/f.png"]
    assert (genimage.label, genimage.split, genimage.attrs["generator"]) == ("fake", "train", "sdv4")
    assert items["sdv4/val/nature/g.png"].label == "real" and items["sdv4/val/nature/g.png"].split == "val"


def test_faceforensics(tmp_path: Path) -> None:
    for name in (
        "original_sequences/youtube/c23/videos/000.mp4",
        "original_sequences/youtube/c23/videos/003.mp4",
        "original_sequences/youtube/c40/videos/000.mp4",
        "manipulated_sequences/Deepfakes/c23/videos/000_003.mp4",
        "manipulated_sequences/Deepfakes/masks/videos/000_003.mp4",
        "original_sequences/actors/c23/videos/01__kitchen.mp4",
        "manipulated_sequences/DeepFakeDetection/c23/videos/01_02__kitchen__X1.mp4",
    ):
        touch(tmp_path / name)
    write_json(tmp_path / "splits" / "test.json", [["000", "003"]])
    all_items = convert("faceforensics", tmp_path)
    assert all_items.counts() == {"real": 4, "fake": 2}
    items = by_path(convert("faceforensics", tmp_path, compression="c23"))
    fake = items["manipulated_sequences/Deepfakes/c23/videos/000_003.mp4"]
    assert fake.mask == "manipulated_sequences/Deepfakes/masks/videos/000_003.mp4"
    assert (fake.group, fake.split, fake.attrs["generator"]) == ("000", "test", "Deepfakes")
    assert items["original_sequences/youtube/c23/videos/000.mp4"].group == "000"
    assert (
        items["original_sequences/actors/c23/videos/01__kitchen.mp4"].attrs["manipulation"]
        == "original_actors"
    )
    assert (
        items["manipulated_sequences/DeepFakeDetection/c23/videos/01_02__kitchen__X1.mp4"].group == "actor01"
    )
    assert len(items) == 5


def test_celebdf(tmp_path: Path) -> None:
    for name in (
        "Celeb-real/id0_0000.mp4",
        "YouTube-real/00001.mp4",
        "Celeb-synthesis/id0_id16_0000.mp4",
        "Celeb-synthesis/id1_id2_0003.mp4",
    ):
        touch(tmp_path / name)
    (tmp_path / "List_of_testing_videos.txt").write_text(
        "1 YouTube-real/00001.mp4\n0 Celeb-synthesis/id1_id2_0003.mp4\n"
    )
    items = by_path(convert("celebdf", tmp_path))
    assert (
        items["Celeb-synthesis/id0_id16_0000.mp4"].group
        == items["Celeb-real/id0_0000.mp4"].group
        == "id0_0000"
    )
    assert (
        items["Celeb-synthesis/id1_id2_0003.mp4"].split == "test"
        and items["Celeb-real/id0_0000.mp4"].split == "train"
    )
    assert items["YouTube-real/00001.mp4"].label == "real" and items["YouTube-real/00001.mp4"].split == "test"


def test_dfdc_metadata(tmp_path: Path) -> None:
    write_json(
        tmp_path / "dfdc_train_part_0" / "metadata.json",
        {
            "aaa.mp4": {"label": "FAKE", "split": "train", "original": "bbb.mp4"},
            "bbb.mp4": {"label": "REAL", "split": "train", "original": None},
        },
    )
    items = by_path(convert("dfdc", tmp_path))
    assert (
        items["dfdc_train_part_0/aaa.mp4"].label == "fake"
        and items["dfdc_train_part_0/aaa.mp4"].group == "bbb"
    )
    assert (
        items["dfdc_train_part_0/bbb.mp4"].group == "bbb"
        and items["dfdc_train_part_0/bbb.mp4"].label_raw == "REAL"
    )


def test_deepfakebench_json(tmp_path: Path) -> None:
    frames = [
        f"FaceForensics++/manipulated_sequences/Deepfakes/c23/frames/000_003/{i:03d}.png" for i in range(2)
    ]
    data = {
        "FaceForensics++": {
            "FF-real": {"test": {"c23": {"000": {"label": "FF-real", "frames": ["ff/real/000/000.png"]}}}},
            "FF-DF": {
                "test": {
                    "c23": {
                        "000_003": {
                            "label": "FF-DF",
                            "frames": frames,
                            "masks": [f.replace("frames", "masks") for f in frames],
                        }
                    }
                }
            },
        },
        "Celeb-DF-v2": {
            "CelebDFv2_fake": {"train": {"id0_id1_0001": {"label": "CelebDFv2_fake", "frames": ["c/1.png"]}}}
        },
    }
    path = write_json(tmp_path / "dataset_json" / "FF-DF.json", data)
    manifest = convert("deepfakebench", path, data_root=str(tmp_path))
    assert manifest.root == tmp_path and manifest.counts() == {"real": 1, "fake": 3}
    fake = by_path(manifest)[frames[1]]
    assert (fake.group, fake.split, fake.attrs["compression"]) == ("000", "test", "c23")
    assert fake.mask == frames[1].replace("frames", "masks")
    assert by_path(manifest)["c/1.png"].group == "id0_0001" and by_path(manifest)["c/1.png"].split == "train"
    per_video = convert("deepfakebench", path, per="video")
    assert len(per_video) == 3 and by_path(per_video)[str(Path(frames[0]).parent)].attrs["n_frames"] == 2


def test_asvspoof2019(tmp_path: Path) -> None:
    proto = tmp_path / "ASVspoof2019_LA_cm_protocols"
    proto.mkdir()
    (proto / "ASVspoof2019.LA.cm.train.trn.txt").write_text(
        "LA_0079 LA_T_1138215 - - bonafide\nLA_0079 LA_T_1271820 - A01 spoof\n"
    )
    (proto / "ASVspoof2019.LA.cm.eval.trl.txt").write_text("LA_0039 LA_E_2834763 - A11 spoof\n\n")
    touch(tmp_path / "ASVspoof2019_LA_train" / "flac" / "LA_T_1138215.flac")
    items = by_path(convert("asvspoof2019", tmp_path))
    bona = items["ASVspoof2019_LA_train/flac/LA_T_1138215.flac"]
    assert (bona.label, bona.group, bona.split) == ("real", "LA_0079", "train")
    spoof = items["ASVspoof2019_LA_eval/flac/LA_E_2834763.flac"]
    assert (spoof.label, spoof.attrs["generator"], spoof.split) == ("fake", "A11", "eval")


def test_lavdf_and_avdeepfake1m(tmp_path: Path) -> None:
    write_json(
        tmp_path / "lavdf" / "metadata.min.json",
        [
            {
                "file": "test/000001.mp4",
                "n_fakes": 2,
                "fake_periods": [[0.5, 1.2], [3.0, 3.4]],
                "duration": 5.0,
                "original": "test/000002.mp4",
                "modify_video": True,
                "modify_audio": False,
                "split": "test",
            },
            {
                "file": "test/000002.mp4",
                "n_fakes": 0,
                "fake_periods": [],
                "duration": 5.0,
                "original": None,
                "modify_video": False,
                "modify_audio": False,
                "split": "test",
            },
        ],
    )
    items = by_path(convert("lavdf", tmp_path / "lavdf"))
    assert (
        items["test/000001.mp4"].segments == [[0.5, 1.2], [3.0, 3.4]]
        and items["test/000002.mp4"].label == "real"
    )
    assert items["test/000001.mp4"].group == items["test/000002.mp4"].group == "test/000002"
    write_json(
        tmp_path / "av1m" / "val_metadata.json",
        [
            {
                "file": "id1/v/00001/fake.mp4",
                "original": "id1/v/00001/real.mp4",
                "split": "val",
                "fake_segments": [[1.0, 1.5]],
                "visual_fake_segments": [],
                "audio_fake_segments": [[1.0, 1.5]],
                "audio_model": "YourTTS",
                "modify_type": "audio_modified",
                "video_frames": 100,
                "audio_frames": 64000,
            },
            {
                "file": "id1/v/00001/real.mp4",
                "original": None,
                "split": "val",
                "fake_segments": [],
                "visual_fake_segments": [],
                "audio_fake_segments": [],
                "audio_model": "",
                "modify_type": "real",
                "video_frames": 100,
                "audio_frames": 64000,
            },
        ],
    )
    av = by_path(convert("avdeepfake1m", tmp_path / "av1m"))
    fake = av["val/id1/v/00001/fake.mp4"]
    assert (fake.label, fake.label_raw, fake.segments, fake.attrs["generator"]) == (
        "fake",
        "audio_modified",
        [[1.0, 1.5]],
        "YourTTS",
    )
    assert (
        fake.group == av["val/id1/v/00001/real.mp4"].group and av["val/id1/v/00001/real.mp4"].label == "real"
    )


def test_liar(tmp_path: Path) -> None:
    rows = [
        "1.json\tpants-fire\tThe moon is cheese.\tspace\tbob\tjob\tTX\trep\t1\t2\t3\t4\t5\ta speech",
        "2.json\thalf-true\tTaxes rose.\ttax\tann\t\t\tdem\t0\t0\t1\t0\t0\tTV",
        '3.json\tbarely-true\tSays "x" is y.\tx\tcid\t\t\tnone\t0\t0\t0\t0\t0\tweb',
    ]
    (tmp_path / "train.tsv").write_text("\n".join(rows[:2]) + "\n", encoding="utf-8")
    (tmp_path / "valid.tsv").write_text(rows[2] + "\n", encoding="utf-8")
    items = convert("liar", tmp_path).items
    assert [(i.label, i.label_raw, i.split) for i in items] == [
        ("fake", "pants-fire", "train"),
        ("real", "half-true", "train"),
        ("fake", "barely-true", "val"),
    ]
    assert items[2].text == 'Says "x" is y.' and items[0].attrs["credit_history"] == ["1", "2", "3", "4", "5"]
    strict = convert("liar", tmp_path, fake="pants-fire,false").items
    assert [i.label for i in strict] == ["fake", "real", "real"]


def test_fakenewsnet_both_releases(tmp_path: Path) -> None:
    csvs = tmp_path / "csv" / "dataset"
    touch(
        csvs / "politifact_fake.csv", b"id,news_url,title,tweet_ids\npf1,www.fake.com/a,Aliens won,1\t2\t3\n"
    )
    touch(csvs / "gossipcop_real.csv", b"id,news_url,title,tweet_ids\ngc1,https://news.org/b,Star weds,\n")
    items = convert("fakenewsnet", tmp_path / "csv").items
    fake = next(i for i in items if i.label == "fake")
    assert (fake.text, fake.group, fake.attrs["subset"], fake.attrs["domain"], fake.attrs["n_tweets"]) == (
        "Aliens won",
        "pf1",
        "politifact",
        "fake.com",
        3,
    )
    old = tmp_path / "2018" / "Data" / "BuzzFeed"
    write_json(
        old / "FakeNewsContent" / "BuzzFeed_Fake_1-Webpage.json",
        {"title": "T", "text": "Body", "source": "http://www.site.org", "images": "['http://a', 'http://b']"},
    )
    write_json(old / "RealNewsContent" / "BuzzFeed_Real_1-Webpage.json", {"title": "R", "text": "Real body"})
    manifest = convert("fakenewsnet", tmp_path / "2018")
    art = by_path(manifest)["Data/BuzzFeed/FakeNewsContent/BuzzFeed_Fake_1-Webpage.json"]
    assert (art.label, art.text, art.group, art.attrs["source"], art.attrs["n_images"]) == (
        "fake",
        "Body",
        "BuzzFeed_Fake_1",
        "site.org",
        2,
    )
    assert manifest.counts() == {"real": 1, "fake": 1}


def test_dgm4(tmp_path: Path) -> None:
    write_json(
        tmp_path / "DGM4" / "metadata" / "val.json",
        [
            {
                "id": 995762,
                "image": "DGM4/manipulation/infoswap/995762-043201-infoswap.jpg",
                "text": "A court decided",
                "fake_cls": "face_swap&text_attribute",
                "fake_image_box": [178, 35, 226, 99],
                "fake_text_pos": [1, 2],
                "mtcnn_boxes": [[178, 35, 226, 99]],
            },
            {
                "id": 12,
                "image": "DGM4/origin/guardian/0001/12.jpg",
                "text": "An untouched caption",
                "fake_cls": "orig",
                "fake_image_box": [],
                "fake_text_pos": [],
                "mtcnn_boxes": [],
            },
        ],
    )
    manifest = convert("dgm4", tmp_path / "DGM4")
    fake, real = manifest.items
    assert (
        manifest.root == tmp_path / "DGM4" and fake.path == "manipulation/infoswap/995762-043201-infoswap.jpg"
    )
    assert (fake.label, fake.label_raw, fake.boxes, fake.tokens, fake.split) == (
        "fake",
        "face_swap&text_attribute",
        [[178.0, 35.0, 226.0, 99.0]],
        [1, 2],
        "val",
    )
    assert (real.label, real.boxes, real.tokens, real.text) == ("real", None, None, "An untouched caption")


# --- data check-------------------------------------------------------------------------------------------


def planted(tmp_path: Path) -> Manifest:
    """Fakes 64x64, reals 80x80; one duplicate (a real copied as a fake), one missing file, one group leak."""
    items = []
    for i in range(6):
        image(tmp_path / f"fake{i}.png", (64, 64), seed=i)
        image(tmp_path / f"real{i}.png", (80, 80), seed=100 + i)
        items.append(
            Item(
                path=f"fake{i}.png",
                label="fake",
                group=f"src{i}",
                split="train" if i < 4 else "test",
                attrs={"generator": "gan" if i % 2 else "sd"},
            )
        )
        items.append(
            Item(path=f"real{i}.png", label="real", group=f"src{i}", split="train" if i < 4 else "test")
        )
    items[-1].split = "train"  # real5 (group src5) in train while fake5 is in test: a leak
    (tmp_path / "copy.png").write_bytes((tmp_path / "fake0.png").read_bytes())
    items.append(Item(path="copy.png", label="fake", split="test"))
    items.append(Item(path="gone.png", label="real"))
    touch(tmp_path / "broken.jpg", b"\xff\xd8\xff\xe0 not really a jpeg")
    items.append(Item(path="broken.jpg", label="real"))
    return Manifest(items, tmp_path)


def test_check_finds_planted_problems(tmp_path: Path) -> None:
    report = check_manifest(planted(tmp_path))
    assert report.labels == {"real": 8, "fake": 7}
    assert report.missing == ["gone.png"]
    assert [u["item"] for u in report.unreadable] == ["broken.jpg"]
    assert [sorted(d["items"]) for d in report.duplicates] == [["copy.png", "fake0.png"]]
    assert report.duplicates[0]["cross_split"] and not report.duplicates[0]["conflicting_labels"]
    assert report.leaks == [{"group": "src5", "splits": {"test": 1, "train": 1}}]
    assert report.attributes["generator"]["values"] == {
        "gan": {"real": 0, "fake": 3},
        "sd": {"real": 0, "fake": 3},
    }
    width = next(s for s in report.shortcuts if s["feature"] == "width")
    assert width["auc"] == 1.0 and width["warn"] and width["direction"] == "lower in fake"
    assert any(w.startswith("SHORTCUT: width") for w in report.warnings())
    assert report.to_dict()["warnings"] == report.warnings()


def test_check_no_shortcut_when_classes_match(tmp_path: Path) -> None:
    items = []
    for i in range(8):
        image(tmp_path / f"{i}.png", (32, 32), seed=i)
        items.append(Item(path=f"{i}.png", label="fake" if i % 2 else "real"))
    report = check_manifest(Manifest(items, tmp_path))
    flagged = {s["feature"] for s in report.shortcuts if s["warn"]}
    assert not flagged & {"width", "height", "pixels", "format"}
    assert not report.duplicates and not report.missing and not report.leaks


def test_check_jpeg_quality_and_text_shortcuts(tmp_path: Path) -> None:
    items = [
        Item(
            path=image(tmp_path / f"{i}.jpg", seed=i, quality=70 if i < 12 else 95).name,
            label="real" if i < 12 else "fake",
        )
        for i in range(24)
    ]
    report = check_manifest(Manifest(items, tmp_path))
    quality = next(s for s in report.shortcuts if s["feature"] == "jpeg_quality")
    assert quality["auc"] == 1.0 and quality["real_median"] == 70 and quality["fake_median"] == 95
    tables = next(s for s in report.shortcuts if s["feature"] == "jpeg_tables")
    assert tables["auc_by_value"] == 1.0 and tables["warn"]
    texts = [
        Item(label="fake", text="short claim"),
        Item(label="fake", text="tiny  claim"),
        Item(label="real", text="a much longer and more careful statement of fact"),
        Item(label="real", text="another long and balanced statement about budgets"),
        Item(label="fake", text="short   claim"),
    ]
    text_report = check_manifest(Manifest(texts, tmp_path))
    assert next(s for s in text_report.shortcuts if s["feature"] == "text_chars")["auc"] == 1.0
    assert [d["items"] for d in text_report.duplicates] == [["text: short claim", "text: short   claim"]]


def test_check_audio_sample_rate(tmp_path: Path) -> None:
    soundfile = pytest.importorskip("soundfile")
    items = []
    for i, rate in enumerate([16000, 16000, 16000, 22050, 22050, 22050]):
        soundfile.write(tmp_path / f"{i}.wav", np.zeros(rate // 10, dtype=np.float32), rate)
        items.append(Item(path=f"{i}.wav", label="real" if rate == 16000 else "fake"))
    report = check_manifest(Manifest(items, tmp_path))
    rate = next(s for s in report.shortcuts if s["feature"] == "sample_rate")
    assert rate["auc"] == 1.0 and rate["warn"]
    assert next(s for s in report.shortcuts if s["feature"] == "duration_s")["auc"] == 0.5


def test_check_mask_problems(tmp_path: Path) -> None:
    image(tmp_path / "x.png", (20, 10))
    image(tmp_path / "x_gt.png", (10, 10))
    items = [
        Item(path="x.png", label="fake", mask="x_gt.png"),
        Item(path="x.png", label="fake", mask="no.png"),
    ]
    problems = check_manifest(Manifest(items, tmp_path), hash_files=False).mask_problems
    assert [p["problem"] for p in problems] == ["size 10x10 != image 20x10", "missing"]


# --- CLI--------------------------------------------------------------------------------------------------


def invoke(*args: str | Path):
    result = runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def test_cli_convert_and_check(tmp_path: Path) -> None:
    manifest = planted(tmp_path / "data")
    manifest.write(tmp_path / "data" / "planted.csv")
    listed = invoke("data", "convert", "--list")
    assert listed.exit_code == 0 and "faceforensics" in listed.stdout and "asvspoof2019" in listed.stdout
    converted = invoke(
        "data", "convert", "table", tmp_path / "data" / "planted.csv", "--out", tmp_path / "m.jsonl"
    )
    assert converted.exit_code == 0 and "wrote 15 items (real 8, fake 7)" in converted.stdout
    result = invoke("data", "check", tmp_path / "m.jsonl", "--json", tmp_path / "report.json")
    assert result.exit_code == 0
    assert "SHORTCUT: width" in result.stdout and "leak" in result.stdout and "gone.png" in result.stdout
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["missing"] == ["data/gone.png"] and report["leaks"][0]["group"] == "src5"
    assert len(report["duplicates"]) == 1 and report["unreadable"][0]["item"] == "data/broken.jpg"
    assert report["attributes"]["generator"]["values"]["gan"] == {"real": 0, "fake": 3}
    assert invoke("data", "check", tmp_path / "m.jsonl", "--strict").exit_code == 1


def test_cli_errors(tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text("path,label\na.jpg,perhaps\n")
    bad = invoke("data", "check", tmp_path / "bad.csv")
    assert bad.exit_code == 2 and "line 2" in bad.output
    typo = invoke("data", "convert", "celeb_df", tmp_path, "--out", tmp_path / "m.jsonl")
    assert typo.exit_code == 2 and "celebdf" in typo.output
    missing = invoke("data", "convert", "lavdf", tmp_path, "--out", tmp_path / "m.jsonl")
    assert missing.exit_code == 2 and "metadata.json" in missing.output
    assert (
        invoke(
            "data", "convert", "liar", tmp_path, "--out", tmp_path / "m.jsonl", "--opt", "novalue"
        ).exit_code
        == 2
    )
