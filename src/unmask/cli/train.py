"""`unmask train CONFIG --out DIR`: train a model from a YAML config (unmask.train; docs/training.md)."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from ..errors import UnmaskError


def _fail(message: str, code: int = 2) -> typer.Exit:
    typer.echo(f"unmask: {message}", err=True)
    return typer.Exit(code)


def train(
    config: Annotated[Path, typer.Argument(metavar="CONFIG", help="A training config (YAML).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the log, checkpoints, model and card.")],
    device: Annotated[str, typer.Option(help="cpu, cuda, cuda:N or auto.")] = "cpu",
    resume: Annotated[bool, typer.Option("--resume/--no-resume",
                                         help="Continue from the checkpoint in --out when there is one.")] = True,
    epochs: Annotated[int | None, typer.Option(help="Override the config's epochs.")] = None,
    samples: Annotated[int | None, typer.Option("--samples-per-epoch",
                                                help="Override the config's samples per epoch.")] = None,
    threads: Annotated[int | None, typer.Option(help="CPU threads for torch (default: torch's choice).")] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress")] = True,
) -> None:
    """Train a model from CONFIG: CSV log per epoch, safetensors checkpoints, resume, held-out metrics."""
    try:
        import torch

        from ..train.config import load_config
        from ..train.loop import Trainer, distributed
    except ImportError as exc:
        raise _fail(f"training needs torch, safetensors and pyyaml ({exc.name} is missing): "
                    "pip install 'unmask[train]'") from None
    if threads:
        torch.set_num_threads(threads)
    overrides = {k: v for k, v in (("epochs", epochs), ("samples_per_epoch", samples)) if v is not None}
    try:
        cfg = load_config(config, overrides)
        if cfg.modality in ("audio", "text"):
            module = importlib.import_module(f"unmask.train.{cfg.modality}")
            typer.echo(json.dumps({"out": str(out), **module.train(cfg, out, lambda s: typer.echo(s, err=True))},
                                  default=str))
            return
        metrics = Trainer(cfg, out, device=device, progress=progress and sys.stderr.isatty(),
                          echo=lambda s: typer.echo(s, err=True)).run(resume=resume)
    except (UnmaskError, ValueError, OSError) as exc:
        raise _fail(str(exc)) from None
    if distributed()[0] == 0:  # under torchrun only rank 0 reports
        typer.echo(json.dumps({"out": str(out), **metrics}, default=str))
