"""`unmask train CONFIG --out DIR` and `unmask models`."""

from __future__ import annotations

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

        from .config import load_config
        from .loop import Trainer, distributed
    except ImportError as exc:
        raise _fail(f"training needs torch, safetensors and pyyaml ({exc.name} is missing): "
                    "pip install 'unmask[train]'") from None
    if threads:
        torch.set_num_threads(threads)
    overrides = {k: v for k, v in (("epochs", epochs), ("samples_per_epoch", samples)) if v is not None}
    try:
        cfg = load_config(config, overrides)
        metrics = Trainer(cfg, out, device=device, progress=progress and sys.stderr.isatty(),
                          echo=lambda s: typer.echo(s, err=True)).run(resume=resume)
    except (UnmaskError, ValueError, OSError) as exc:
        raise _fail(str(exc)) from None
    if distributed()[0] == 0:  # under torchrun only rank 0 reports
        typer.echo(json.dumps({"out": str(out), **metrics}, default=str))


def models(as_json: Annotated[bool, typer.Option("--json", help="Print the model cards as JSON.")] = False,
           ) -> None:
    """List the shipped models with their model cards (docs/models/ has the long form)."""
    from ..learned.store import list_models, weights_dir

    cards = list_models()
    if as_json:
        typer.echo(json.dumps(cards, indent=2))
        return
    if not cards:
        typer.echo(f"no models are shipped in {weights_dir()}")
        return
    for card in cards:
        held = card.get("heldout", {})
        keys = ("image_auc", "image_ap", "image_accuracy", "pixel_f1", "pixel_auc")
        shown = ", ".join(f"{k} {held[k]:.3f}" for k in keys if isinstance(held.get(k), float))
        typer.echo(f"{card['name']}: {card['arch']} ({card['task']}), {card['params']:,} parameters, "
                   f"{card['size_mb']} MB; trained {card['trained']['date']} by `{card['trained']['command']}`"
                   + (f"\n    held-out split of its config: {shown}" if shown else ""))
        for bench in card.get("benchmarks", []):
            typer.echo(f"    {bench['data']}: {bench['result']} ({bench['source']})")
