"""unmask.train: config checks, group splits, data sources, deterministic training, resume, export, loading."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

torch = pytest.importorskip("torch")
pytest.importorskip("safetensors")
pytest.importorskip("yaml")

from unmask.cli import app  # noqa: E402
from unmask.datasets.manifest import Item  # noqa: E402
from unmask.datasets.split import group_split, held_out  # noqa: E402
from unmask.learned.store import list_models, load_model  # noqa: E402
from unmask.train.config import ConfigError, load_config, parse_config  # noqa: E402
from unmask.train.loop import Trainer  # noqa: E402
from unmask.train.sources import Context, build  # noqa: E402


@pytest.fixture(scope="module")
def photo_manifest(tmp_path_factory: pytest.TempPathFactory, photo: np.ndarray) -> Path:
    """Six 96x96 JPEG crops of a natural photo, in a manifest of authentic images with one group each."""
    root = tmp_path_factory.mktemp("photos")
    rows = ["path,label,group"]
    for i in range(6):
        y, x = 60 * (i % 3), 150 * (i // 3)
        Image.fromarray(photo[y:y + 96, x:x + 96]).save(root / f"p{i}.jpg", quality=92)
        rows.append(f"p{i}.jpg,real,g{i}")
    (root / "photos.csv").write_text("\n".join(rows) + "\n")
    return root / "photos.csv"


def smoke_config(manifest: Path, epochs: int = 2) -> dict:
    return {
        "name": "smoke", "model": {"arch": "forensic_unet_scratch", "kwargs": {"width": 4}},
        "data": {"crop": 48,
                 "train": [{"source": "synth", "photos": {"manifest": str(manifest)}, "n": 8, "size": 64}],
                 "val": [{"source": "synth", "photos": {"manifest": str(manifest)}, "n": 4, "size": 64}],
                 "test": [{"source": "manifest", "manifest": str(manifest), "limit": 2}]},
        "augment": {"jpeg_p": 0.5, "flip": True}, "epochs": epochs, "batch_size": 4, "seed": 3,
    }


def write_config(folder: Path, data: dict) -> Path:
    import yaml

    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


def weights(run: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(run / "model.safetensors"))


def test_config_errors_name_the_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="missing key 'model'"):
        parse_config({"data": {"train": [{"source": "synth"}]}})
    with pytest.raises(ConfigError, match="unknown key"):
        parse_config({"model": {"arch": "x"}, "data": {"train": [{"source": "synth"}]}, "epoch": 3})
    with pytest.raises(ConfigError, match="lists no source"):
        parse_config({"model": {"arch": "x"}, "data": {"train": []}})
    bad = tmp_path / "bad.yaml"
    bad.write_text("model: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    with pytest.raises(ValueError, match="unknown data source 'nope'"):
        build({"source": "nope"}, Context(tmp_path, 0))


def test_group_split_keeps_groups_whole_and_is_stable() -> None:
    items = [Item(path=f"{g}_{k}.jpg", group=f"g{g}") for g in range(200) for k in range(3)]
    split = group_split(items, 0.3, seed=1)
    sides: dict[str, set[str]] = {}
    for it in split:
        sides.setdefault(it.group, set()).add(it.split)
    assert all(len(s) == 1 for s in sides.values())
    share = np.mean([it.split == "test" for it in split])
    assert 0.2 < share < 0.4
    again = group_split(items[::-1], 0.3, seed=1)  # order and other items do not move an item
    assert {it.path: it.split for it in again} == {it.path: it.split for it in split}
    assert held_out("g1", 0.3, 1) != held_out("g1", 0.3, 2) or held_out("g2", 0.3, 1) != held_out("g2", 0.3, 2) \
        or held_out("g3", 0.3, 1) != held_out("g3", 0.3, 2)


def test_manifest_source_inner_split_takes_part_of_one_side(photo_manifest: Path) -> None:
    ctx = Context(photo_manifest.parent, 0)
    outer = {"source": "manifest", "manifest": str(photo_manifest),
             "group_split": {"test_fraction": 0.5, "seed": 0}, "split": "train"}
    side = {it.path for it in build(outer, ctx).items}
    parts = [{it.path for it in build({**outer, "inner_split": {"test_fraction": 0.5, "seed": 1, "split": p}},
                                      ctx).items} for p in ("train", "test") if True]
    assert parts[0] | parts[1] == side and not parts[0] & parts[1]


def test_manifest_source_reencodes_the_file_not_only_the_pixels(photo_manifest: Path) -> None:
    import io

    ctx = Context(photo_manifest.parent, 0)
    spec = {"source": "manifest", "manifest": str(photo_manifest), "reencode": {"p": 1.0, "quality": [50, 50]}}
    plain = build({"source": "manifest", "manifest": str(photo_manifest)}, ctx).get(0, np.random.default_rng(0))
    again = build(spec, ctx).get(0, np.random.default_rng(0))
    with Image.open(io.BytesIO(plain.data)) as a, Image.open(io.BytesIO(again.data)) as b:
        assert a.quantization[0] != b.quantization[0]  # the written quality (92) is gone from the header
    assert np.array_equal(again.image, np.asarray(Image.open(io.BytesIO(again.data)).convert("RGB")))
    assert not np.array_equal(again.image, plain.image)


def test_synth_source_is_deterministic_with_exact_masks(photo_manifest: Path) -> None:
    src = build({"source": "synth", "photos": {"manifest": str(photo_manifest)}, "n": 6, "size": 64,
                 "fake_fraction": 1.0}, Context(photo_manifest.parent, 0))
    a = src.get(2, np.random.default_rng(7))
    b = src.get(2, np.random.default_rng(7))
    assert a.label == 1 and np.array_equal(a.image, b.image) and np.array_equal(a.mask, b.mask)
    assert a.mask.shape == a.image.shape[:2] and 0 < a.mask.mean() < 0.5


def test_maps_source_adds_detector_maps_once_and_caches_them(photo_manifest: Path, tmp_path: Path) -> None:
    from unmask.detectors.maps import MapMaker

    spec = {"source": "maps", "detectors": ["ela", "jpeg_double_quant"], "cache": str(tmp_path / "cache"),
            "of": {"source": "synth", "photos": {"manifest": str(photo_manifest)}, "n": 3, "size": 64}}
    src = build(spec, Context(tmp_path, 0))
    first = src.get(1, np.random.default_rng(1))
    again = src.get(1, np.random.default_rng(99))  # from the cache, whatever the epoch's rng
    assert first.image.shape[2] == 5 and np.array_equal(first.image, again.image)
    assert np.array_equal(first.mask, again.mask) and len(list((tmp_path / "cache").rglob("*.npz"))) == 1
    inner = build(spec["of"], Context(tmp_path, 0)).get(1, np.random.default_rng([0, 0x3A9, 1]))
    import unmask

    assert np.array_equal(first.image[..., 3:], MapMaker(["ela", "jpeg_double_quant"])(unmask.load(inner.data)))
    with pytest.raises(ValueError, match="'of:'"):
        build({"source": "maps", "detectors": ["ela"]}, Context(tmp_path, 0))


def test_training_is_deterministic_and_resume_matches_a_straight_run(photo_manifest: Path,
                                                                     tmp_path: Path) -> None:
    cfg = parse_config(smoke_config(photo_manifest), folder=tmp_path)
    Trainer(cfg, tmp_path / "straight", progress=False, echo=lambda s: None).run()
    Trainer(cfg, tmp_path / "again", progress=False, echo=lambda s: None).run()
    short = parse_config({**smoke_config(photo_manifest), "epochs": 2}, folder=tmp_path)
    # an interrupted run: stop after epoch 1 by running a copy whose log says epoch 1 was the last ...
    first = Trainer(short, tmp_path / "resumed", progress=False, echo=lambda s: None)
    first.out.mkdir(parents=True)
    first.train_epoch(0)
    from unmask.train.checkpoint import save_checkpoint

    save_checkpoint(first.out / "checkpoint", first.net, first.opt,
                    {"epoch": 0, "digest": short.digest(), "log": [{"epoch": 1}]})
    # ... then a fresh process-like Trainer resumes from the checkpoint and finishes epoch 2
    messages: list[str] = []
    Trainer(short, tmp_path / "resumed", progress=False, echo=messages.append).run()
    assert any("resuming after epoch 1" in m for m in messages)
    straight, again, resumed = (weights(tmp_path / n) for n in ("straight", "again", "resumed"))
    assert straight.keys() == resumed.keys()
    for key in straight:
        assert torch.equal(straight[key], again[key]), key
        assert torch.equal(straight[key], resumed[key]), key
    log = (tmp_path / "straight" / "log.csv").read_text().splitlines()
    assert log[0].startswith("epoch,") and len(log) == 3
    card = json.loads((tmp_path / "straight" / "card.json").read_text())
    assert card["arch"] == "forensic_unet_scratch" and card["task"] == "localize" and card["params"] > 0
    assert card["heldout"]["image_n"] == 2 and "image_accuracy" in card["validation"]


def test_tensorboard_is_optional(photo_manifest: Path, tmp_path: Path) -> None:
    cfg = parse_config({**smoke_config(photo_manifest, epochs=1), "tensorboard": True}, folder=tmp_path)
    assert cfg.digest() == parse_config(smoke_config(photo_manifest, epochs=1), folder=tmp_path).digest()
    messages: list[str] = []
    Trainer(cfg, tmp_path / "run", progress=False, echo=messages.append).run()
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        assert any("tensorboard package is not installed" in m for m in messages)
    else:
        assert any((tmp_path / "run" / "tensorboard").iterdir())
    assert (tmp_path / "run" / "log.csv").is_file()


def test_resume_refuses_a_different_config(photo_manifest: Path, tmp_path: Path) -> None:
    cfg = parse_config(smoke_config(photo_manifest, epochs=1), folder=tmp_path)
    Trainer(cfg, tmp_path / "run", progress=False, echo=lambda s: None).run()
    other = parse_config({**smoke_config(photo_manifest, epochs=1), "seed": 4}, folder=tmp_path)
    with pytest.raises(ConfigError, match="different config"):
        Trainer(other, tmp_path / "run", progress=False, echo=lambda s: None).run()
    wider = smoke_config(photo_manifest, epochs=1)  # another architecture: refused before loading tensors
    wider["model"]["kwargs"]["width"] = 8
    with pytest.raises(ConfigError, match="different config"):
        Trainer(parse_config(wider, folder=tmp_path), tmp_path / "run", progress=False, echo=lambda s: None).run()


def test_cli_trains_and_the_model_loads_like_a_shipped_one(photo_manifest: Path, tmp_path: Path) -> None:
    config = write_config(tmp_path, smoke_config(photo_manifest, epochs=1))
    result = CliRunner().invoke(app, ["train", str(config), "--out", str(tmp_path / "run"), "--no-progress"])
    assert result.exit_code == 0, result.output
    shipped = tmp_path / "weights"
    shipped.mkdir()
    (tmp_path / "run" / "model.safetensors").rename(shipped / "smoke.safetensors")
    (tmp_path / "run" / "card.json").rename(shipped / "smoke.json")
    assert [c["name"] for c in list_models(shipped)] == ["smoke"]
    net, card = load_model("smoke", shipped)
    assert card["name"] == "smoke"
    from unmask.learned.infer import predict_image

    prob, mask = predict_image(net, np.zeros((37, 53, 3), np.uint8))  # odd sizes are padded, not resized
    assert 0.0 <= prob <= 1.0 and mask.shape == (37, 53)


def test_cli_reports_a_bad_config_without_traceback(tmp_path: Path) -> None:
    config = write_config(tmp_path, {"model": {"arch": "no_such_arch"},
                                     "data": {"train": [{"source": "synth", "photos": {"manifest": "x.csv"}}]}})
    result = CliRunner().invoke(app, ["train", str(config), "--out", str(tmp_path / "run")])
    assert result.exit_code == 2
    assert "no such manifest" in result.output or "unknown architecture" in result.output


def test_torchrun_data_parallel_on_cpu(photo_manifest: Path, tmp_path: Path) -> None:
    """Two Gloo processes under torchrun: one log, one checkpoint, one model (written by rank 0 only)."""
    import shutil
    import subprocess
    import sys

    config = write_config(tmp_path, smoke_config(photo_manifest, epochs=1))
    unmask_exe = shutil.which("unmask") or str(Path(sys.executable).with_name("unmask"))
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", unmask_exe,
           "train", str(config), "--out", str(tmp_path / "ddp"), "--no-progress", "--threads", "1"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count('"test"') == 1
    assert len((tmp_path / "ddp" / "log.csv").read_text().splitlines()) == 2
    assert (tmp_path / "ddp" / "model.safetensors").is_file()


def trunk_config(manifest: Path, passes: int, epochs: int = 2) -> dict:
    """The face_xray_mbv2 network (a MobileNetV2 with a frozen trunk, random weights here) on synthetic edits."""
    cfg = smoke_config(manifest, epochs)
    cfg["model"] = {"arch": "face_xray_mbv2", "kwargs": {"frozen_blocks": 10, "input_size": 64}}
    cfg["data"]["crop"] = 64
    return {**cfg, "trunk_passes": passes}


def test_trunk_cache_trains_what_an_uncached_run_trains(photo_manifest: Path, tmp_path: Path) -> None:
    """trunk_passes = epochs gives the batches of the uncached run (the trunk's output rounded to float16);
    the frozen trunk never changes; a rerun reads the stored passes instead of recomputing them."""
    runs = {}
    for passes in (0, 2):
        cfg = parse_config(trunk_config(photo_manifest, passes), folder=tmp_path)
        trainer = Trainer(cfg, tmp_path / f"p{passes}", progress=False, echo=lambda s: None)
        before = {k: v.clone() for k, v in trainer.net.state_dict().items()}
        runs[passes] = trainer.run()
        after = trainer.net.state_dict()
        frozen = [k for k in before if k.startswith(("encoder.stem.", "encoder.blocks.0.", "encoder.blocks.9."))]
        assert frozen and all(torch.equal(before[k], after[k]) for k in frozen)
        assert not torch.equal(before["head.1.weight"], after["head.1.weight"])
    assert sorted(p.name for p in (tmp_path / "p2" / "trunk").iterdir()) == ["pass0.pt", "pass1.pt"]
    loss = [float(r["validation"]["train_loss"]) for r in runs.values()]
    assert loss[1] == pytest.approx(loss[0], rel=0.02)
    a, b = weights(tmp_path / "p0"), weights(tmp_path / "p2")
    params = [k for k, _ in trainer.net.named_parameters()]  # batch-norm statistics amplify the rounding
    assert max(float((a[k] - b[k]).abs().max()) for k in params) < 0.02

    cfg = parse_config(trunk_config(photo_manifest, 2), folder=tmp_path)
    again = Trainer(cfg, tmp_path / "p2", progress=False, echo=lambda s: None)
    again._batches = None  # the passes must come from out/trunk/, not from the data
    for k in range(2):
        assert again._trunk_pass(k)["trunk"].dtype == torch.float16


def test_trunk_options_are_checked(photo_manifest: Path, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="frozen trunk"):
        Trainer(parse_config({**smoke_config(photo_manifest), "trunk_passes": 2}, folder=tmp_path), tmp_path / "a",
                progress=False)
    with pytest.raises(ConfigError, match="no pretrained encoder"):
        Trainer(parse_config({**smoke_config(photo_manifest), "pretrained": True}, folder=tmp_path), tmp_path / "b",
                progress=False)
    with pytest.raises(ConfigError, match="trunk_passes"):
        parse_config({**smoke_config(photo_manifest), "trunk_passes": -1})
    with pytest.raises(ConfigError, match="export_dtype"):
        parse_config({**smoke_config(photo_manifest), "export_dtype": "int8"})


def test_float16_export_halves_the_file_and_loads_as_float32(photo_manifest: Path, tmp_path: Path) -> None:
    data = {**smoke_config(photo_manifest, epochs=1), "export_dtype": "float16"}
    Trainer(parse_config(data, folder=tmp_path), tmp_path / "half", progress=False, echo=lambda s: None).run()
    Trainer(parse_config(smoke_config(photo_manifest, epochs=1), folder=tmp_path), tmp_path / "full",
            progress=False, echo=lambda s: None).run()
    assert all(v.dtype == torch.float16 for v in weights(tmp_path / "half").values() if v.is_floating_point())
    half, full = ((tmp_path / n / "model.safetensors").stat().st_size for n in ("half", "full"))
    assert half < 0.6 * full
    from unmask.learned.store import network

    net = network(json.loads((tmp_path / "half" / "card.json").read_text()), tmp_path / "half" / "model.safetensors")
    assert all(p.dtype == torch.float32 for p in net.parameters())


def test_colour_augmentation_changes_the_look_alike_for_every_class() -> None:
    """color_p: the same draws give the same image whatever the label; grey_p 1 gives grey; off leaves it."""
    from unmask.train.data import augment
    from unmask.train.sources import Sample

    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (48, 48, 3), dtype=np.uint8)
    spec = {"color_p": 1.0}
    real, fake = (augment(Sample(image, label, None), spec, np.random.default_rng(7)) for label in (0, 1))
    assert real.image.shape == image.shape and real.image.dtype == np.uint8
    assert np.array_equal(real.image, fake.image) and not np.array_equal(real.image, image)
    grey = augment(Sample(image, 0, None), {**spec, "grey_p": 1.0}, np.random.default_rng(7)).image
    assert np.array_equal(grey[..., 0], grey[..., 1]) and np.array_equal(grey[..., 1], grey[..., 2])
    assert np.array_equal(augment(Sample(image, 0, None), {}, np.random.default_rng(7)).image, image)
