"""`unmask index add/info/remove`: the local index of pictures that `image_reuse` searches (unmask.posts.index).

The index is one SQLite file: `--index PATH` (or $UNMASK_INDEX), else `image-index.sqlite` in the unmask cache
folder ($UNMASK_CACHE, else ~/.cache/unmask). `unmask scan --index PATH` searches the same file.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.text import Text

from ..errors import UnmaskError

if TYPE_CHECKING:
    from ..posts.index import ImageIndex

index_app = typer.Typer(no_args_is_help=True,
                        help="Your own index of pictures, searched by `image_reuse` for re-used photos in posts.")
SKIPPED_SHOWN = 20

IndexOption = Annotated[Path | None, typer.Option(
    "--index", metavar="PATH", envvar="UNMASK_INDEX",
    help="The index file (default: image-index.sqlite in $UNMASK_CACHE or ~/.cache/unmask).")]


def _open(path: Path | None, create: bool) -> ImageIndex:
    from ..posts.index import ImageIndex, default_index_path

    try:
        return ImageIndex(path or default_index_path(), create=create)
    except UnmaskError as exc:
        raise typer.BadParameter(str(exc), param_hint="--index") from exc


@index_app.command("add")
def index_add(
    path: Annotated[list[Path], typer.Argument(help="Picture files or folders to index.", show_default=False)],
    index: IndexOption = None,
    recursive: Annotated[bool, typer.Option("--recursive", "-r", help="Descend into sub-folders.")] = False,
) -> None:
    """Add pictures to the index (files already there are read again only if they changed)."""
    err = Console(stderr=True)
    with _open(index, create=True) as ix:
        progress = Progress(TextColumn("[bold]indexing"), MofNCompleteColumn(), TimeElapsedColumn(),
                            TextColumn("{task.fields[name]}", markup=False), console=err, transient=True)
        with progress:
            task = progress.add_task("index", total=None, name="")
            try:
                result = ix.add(path, recursive=recursive,
                                on_file=lambda p: progress.update(task, advance=1, name=p.name))
            except UnmaskError as exc:
                err.print(f"unmask: {exc}", style="bold red", markup=False)
                raise typer.Exit(3) from None
        total = len(ix)
    Console().print(Text(f"{ix.path}: {result.added} added, {result.updated} updated, {result.unchanged} "
                         f"unchanged, {len(result.skipped)} skipped; {total:,} pictures in the index"))
    for where, why in result.skipped[:SKIPPED_SHOWN]:
        err.print(Text(f"skipped {where}: {why}", style="yellow"), soft_wrap=True)
    if len(result.skipped) > SKIPPED_SHOWN:
        err.print(Text(f"... and {len(result.skipped) - SKIPPED_SHOWN} more skipped", style="yellow"))
    raise typer.Exit(1 if result.skipped else 0)


@index_app.command("info")
def index_info(index: IndexOption = None) -> None:
    """Where the index is, how many pictures it holds and the range of their capture dates."""
    with _open(index, create=False) as ix:
        info = ix.info()
    dated = (f"; capture dates {info.oldest:%Y-%m-%d} to {info.newest:%Y-%m-%d}" if info.oldest and info.newest
             else "")
    Console().print(Text(f"{info.path}: {info.images:,} pictures, {info.with_dates:,} with a capture date{dated}; "
                         f"{info.bytes_on_disk / 1e6:.1f} MB"))


@index_app.command("remove")
def index_remove(
    path: Annotated[list[Path], typer.Argument(help="Indexed files, or folders whose files to forget.",
                                               show_default=False)],
    index: IndexOption = None,
) -> None:
    """Forget files (or everything under folders) in the index; the files themselves are not touched."""
    with _open(index, create=False) as ix:
        try:
            removed = sum(ix.remove(p) for p in path)
        except UnmaskError as exc:
            raise typer.BadParameter(str(exc), param_hint="--index") from exc
        left = len(ix)
    Console().print(Text(f"{removed:,} removed; {left:,} pictures left in {ix.path}"))
