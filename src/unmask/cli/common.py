"""What several commands share: checking an output file or folder before any work is done."""

from __future__ import annotations

import os
from pathlib import Path

import typer


def output_file(path: Path | None, option: str) -> Path | None:
    """Check an output file can be created before any work is done (parents are created)."""
    if path is None:
        return None
    if path.is_dir():
        raise typer.BadParameter(f"{path} is a directory; give a file name", param_hint=option)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise typer.BadParameter(f"cannot create {path.parent}: {exc.strerror or exc}", param_hint=option) from exc
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise typer.BadParameter(f"cannot write {path}: permission denied", param_hint=option)
    return path


def output_dir(path: Path | None, option: str) -> Path | None:
    """Create an output folder before any work is done and check it can be written."""
    if path is None:
        return None
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise typer.BadParameter(f"cannot create directory {path}: {exc.strerror or exc}", param_hint=option) from exc
    if not os.access(path, os.W_OK):
        raise typer.BadParameter(f"cannot write into {path}: permission denied", param_hint=option)
    return path
