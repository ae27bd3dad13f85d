"""`--help` in the usual command-line style: `PATH...`, `TEXT`, `INTEGER`, and nothing after a flag.

Recent Typer releases print each parameter's Python type as its metavar (`<bool>` after `--quiet`,
`<list[Path]>` after an argument, `<str>`); `use_plain_metavars()` replaces that, for every command in the
process, with the conventional names: a flag shows no value, an argument is named in capitals (`PATH...`), an
option that takes a value shows its metavar or the type's name (`TEXT`, `INTEGER`, `FLOAT`, `PATH`). Typer
versions without those methods already print this style and are left alone.
"""

from __future__ import annotations

import re
from typing import Any

_LABELS = {"str": "TEXT", "int": "INTEGER", "float": "FLOAT", "path": "PATH", "bool": "BOOLEAN",
           "datetime": "DATETIME", "uuid": "UUID"}
_WRAPPED = re.compile(r"^<(.*)>$")
_LIST = re.compile(r"^list\[(.*)\]$")


def plain_label(typer_label: str | None) -> str | None:
    """`<int range>` -> INTEGER, `<list[str]>` -> TEXT, `<Path>` -> PATH, `<a|b>` -> [a|b]."""
    if not typer_label:
        return typer_label
    match = _WRAPPED.match(typer_label.strip())
    if not match:
        return typer_label  # already a metavar
    label = match.group(1)
    while (inner := _LIST.match(label)) is not None:  # repeatable: each value has the item's type
        label = inner.group(1)
    label = label.removesuffix(" range")
    if "|" in label:
        return f"[{label}]"
    return _LABELS.get(label.lower(), label.upper())


def _option_type(self: Any, ctx: Any) -> str | None:
    if getattr(self, "is_flag", False) or getattr(self, "count", False):
        return None
    if self.metavar is not None:
        return self.metavar
    return plain_label(_ORIGINAL["option"](self, ctx))


def _argument_type(self: Any, ctx: Any) -> str | None:
    return None  # the argument's name column already names it (PATH...)


def _argument_name(self: Any) -> str:
    return self.metavar if self.metavar is not None else self.name.upper()


_ORIGINAL: dict[str, Any] = {}


def use_plain_metavars() -> None:
    """Patch Typer's parameter classes once (idempotent) so every command's help uses plain metavars."""
    from typer.core import TyperArgument, TyperOption

    if _ORIGINAL or not hasattr(TyperOption, "display_type_rich"):
        return
    _ORIGINAL["option"] = TyperOption.display_type_rich
    TyperOption.display_type_rich = _option_type
    TyperArgument.display_type_rich = _argument_type
    if isinstance(getattr(TyperArgument, "display_name_raw", None), property):
        TyperArgument.display_name_raw = property(_argument_name)
