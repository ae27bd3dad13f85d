"""The perturbation spec language and its op table: `Param`, `Op`, `Perturbation`, `Chain`, `parse`.

The op modules (image, audio, video, chains) import this module and `register` their ops; the package
`unmask.perturb` imports them all, so the table is full whenever `unmask.perturb` is imported. Nothing here
imports an op module, so the table and its entries never import each other.
"""

from __future__ import annotations

import difflib
import hashlib
import re
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
_STEP = re.compile(r"\s*([A-Za-z][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*\Z", re.S)
_CHAIN = re.compile(r"\s*chain\s*:\s*([A-Za-z0-9_]+)\s*\Z", re.I)
_REQUIRED = object()
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


@dataclass(frozen=True)
class Param:
    """One parameter of an op: a type (int, float, str or bool), a default, and the allowed values."""

    name: str
    type: type
    default: Any = _REQUIRED
    lo: float | None = None
    hi: float | None = None
    choices: tuple[Any, ...] | None = None
    open_lo: bool = False  # lo itself is not allowed (a factor must be > 0)

    @property
    def required(self) -> bool:
        return self.default is _REQUIRED

    def allowed(self) -> str:
        """The allowed values in words, for error messages and docs."""
        if self.choices is not None:
            return "one of " + ", ".join(_fmt(c) for c in self.choices)
        kind = {int: "an integer", float: "a number", bool: "true or false", str: "a word"}[self.type]
        if self.lo is not None and self.hi is not None:
            left = "(" if self.open_lo else "["
            return f"{kind} in {left}{_fmt(self.lo)}, {_fmt(self.hi)}]"
        if self.lo is not None:
            return f"{kind} {'>' if self.open_lo else '>='} {_fmt(self.lo)}"
        return kind

    def coerce(self, op: str, value: Any) -> Any:
        """Convert a spec word or a Python value to this parameter's type and check its range."""
        if value is None and not self.required and self.default is None:
            return None
        try:
            v = _convert(self.type, value)
        except (TypeError, ValueError):
            raise ValueError(f"{op}: {self.name} must be {self.allowed()}, got {value!r}") from None
        bad = (self.choices is not None and v not in self.choices) or (
            self.lo is not None and (v < self.lo or (self.open_lo and v == self.lo))) or (
            self.hi is not None and v > self.hi)
        if bad:
            raise ValueError(f"{op}: {self.name} must be {self.allowed()}, got {_fmt(v)}")
        return v


def _convert(kind: type, value: Any) -> Any:
    if kind is bool:
        if isinstance(value, bool | np.bool_):
            return bool(value)
        word = str(value).strip().lower()
        if word in _TRUE or word in _FALSE:
            return word in _TRUE
        raise ValueError(value)
    if kind is int:
        if isinstance(value, bool) or (isinstance(value, float) and not float(value).is_integer()):
            raise ValueError(value)
        return int(str(value).strip()) if isinstance(value, str) else int(value)
    if kind is float:
        if isinstance(value, bool):
            raise ValueError(value)
        v = float(value)
        if not np.isfinite(v):
            raise ValueError(value)
        return v
    word = str(value).strip().lower()
    if not re.fullmatch(r"[a-z0-9_:.\-]+", word):
        raise ValueError(value)
    return word


def _fmt(v: Any) -> str:
    """Canonical spelling of a value in a spec: shortest round-tripping float, lower-case words."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return repr(v)
    return str(v)


@dataclass(frozen=True)
class Op:
    """A named perturbation: its parameters, the media kinds it applies to and one function per kind.

    Each function takes `(data: bytes, rng: numpy.random.Generator, **params)` and returns encoded bytes.
    `random` says whether the output depends on the seed (a bool, or a function of the parameters);
    `check` validates parameter combinations; `expand(**params)`, when set, gives the steps the op stands for.
    """

    name: str
    params: tuple[Param, ...]
    impls: Mapping[str, Callable[..., bytes]]
    doc: str = ""
    random: bool | Callable[[dict[str, Any]], bool] = False
    check: Callable[[dict[str, Any]], None] | None = None
    expand: Callable[..., Chain] | None = None  # a step that stands for other steps (chain:<platform>)

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(self.impls)

    def usage(self) -> str:
        """`name(p=default, ...)` with each parameter's allowed values."""
        parts = [p.name if p.required or p.default is None else f"{p.name}={_fmt(p.default)}"
                 for p in self.params]
        return f"{self.name}({', '.join(parts)})"


_OPS: dict[str, Op] = {}


def register(op: Op) -> Op:
    """Add an op to the registry (the image, audio, video and chain modules call this at import)."""
    if not _NAME.match(op.name):
        raise ValueError(f"bad op name {op.name!r}")
    _OPS[op.name] = op
    return op


def ops() -> dict[str, Op]:
    """All registered ops by name (the package `unmask.perturb` imports every op module)."""
    return dict(_OPS)


def _lookup(name: str) -> Op:
    table = ops()
    if name in table:
        return table[name]
    close = difflib.get_close_matches(name, list(table), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise ValueError(f"unknown perturbation {name!r}{hint} Known: {', '.join(sorted(table))}, "
                     f"and chain:<platform>")


@runtime_checkable
class PerturbationLike(Protocol):
    """Anything with a stable spec string and `apply(bytes, seed) -> bytes` (a `Perturbation` or a `Chain`)."""

    @property
    def spec(self) -> str: ...

    def apply(self, data: bytes, seed: int = 0) -> bytes: ...


@dataclass(frozen=True)
class Perturbation:
    """One op with all of its parameters resolved (defaults filled in, types and ranges checked).

    Build it from a spec (`Perturbation.parse("jpeg(q=75)")`) or from Python (`Perturbation("jpeg", {"q": 75})`);
    both give equal, hashable objects whose `str` is the canonical spec.
    """

    op: str
    params: Any = field(default_factory=dict)

    def __post_init__(self) -> None:
        resolved = _resolve(_lookup(self.op), dict(self.params))
        object.__setattr__(self, "params", tuple(resolved.items()))

    @classmethod
    def parse(cls, spec: str) -> Perturbation:
        """Parse one step such as `resize(0.5)` or `jpeg(q=75, subsampling=4:4:4)`."""
        chain = parse(spec)
        if len(chain.steps) != 1:
            raise ValueError(f"expected one perturbation, got {len(chain.steps)} in {spec!r}")
        return chain.steps[0]

    @property
    def definition(self) -> Op:
        return _lookup(self.op)

    @property
    def kwargs(self) -> dict[str, Any]:
        return dict(self.params)

    @property
    def spec(self) -> str:
        return str(self)

    @property
    def random(self) -> bool:
        flag = self.definition.random
        return bool(flag(self.kwargs) if callable(flag) else flag)

    @property
    def kinds(self) -> tuple[str, ...]:
        return self.definition.kinds

    def __str__(self) -> str:
        if self.op == "chain":
            return f"chain:{self.kwargs['platform']}"
        shown = [(p.name, v) for p, (_, v) in zip(self.definition.params, self.params, strict=True)
                 if p.required or v != p.default]
        return self.op + (f"({','.join(f'{k}={_fmt(v)}' for k, v in shown)})" if shown else "")

    def __or__(self, other: Perturbation | Chain) -> Chain:
        return Chain((self,)) | other

    def apply(self, data: bytes, seed: int = 0) -> bytes:
        """Perturb encoded bytes; `seed` fixes every random choice (noise, crop offset)."""
        return Chain((self,)).apply(data, seed)


def _resolve(op: Op, given: dict[str, Any]) -> dict[str, Any]:
    names = [p.name for p in op.params]
    unknown = [k for k in given if k not in names]
    if unknown:
        takes = ", ".join(names) if names else "no parameters"
        raise ValueError(f"{op.name}: unknown parameter {unknown[0]!r}; {op.name} takes {takes} "
                         f"(usage: {op.usage()})")
    out: dict[str, Any] = {}
    for p in op.params:
        if p.name in given:
            out[p.name] = p.coerce(op.name, given[p.name])
        elif p.required:
            raise ValueError(f"{op.name}: missing {p.name} ({p.allowed()}); usage: {op.usage()}")
        else:
            out[p.name] = p.default
    if op.check is not None:
        op.check(out)
    return out


@dataclass(frozen=True)
class Chain:
    """Perturbations applied left to right. Step i draws its randomness from (seed, i, its spec)."""

    steps: tuple[Perturbation, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "steps", tuple(self.steps))
        _check_kinds(self.steps)

    def __str__(self) -> str:
        return "|".join(str(s) for s in self.steps)

    def __len__(self) -> int:
        return len(self.steps)

    def __or__(self, other: Perturbation | Chain) -> Chain:
        more = other.steps if isinstance(other, Chain) else (other,)
        return Chain(self.steps + tuple(more))

    @property
    def spec(self) -> str:
        return str(self)

    @property
    def random(self) -> bool:
        return any(s.random for s in self.expanded().steps)

    def expanded(self) -> Chain:
        """The chain with every `chain:<platform>` replaced by its steps (what actually runs)."""
        out: list[Perturbation] = []
        for s in self.steps:
            expand = s.definition.expand
            out.extend(expand(**s.kwargs).steps if expand is not None else (s,))
        return Chain(tuple(out))

    def cache_key(self, seed: int = 0) -> str:
        """A stable key for (expanded spec, seed); the seed is left out when nothing is random."""
        text = str(self.expanded()) + (f"@seed={int(seed)}" if self.random else "")
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def apply(self, data: bytes, seed: int = 0) -> bytes:
        """Apply each step in order to encoded bytes and return the final encoded bytes."""
        if not isinstance(data, bytes | bytearray | memoryview):
            raise TypeError(f"apply() takes encoded bytes, not {type(data).__name__}")
        if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
        out = bytes(data)
        for i, step in enumerate(self.expanded().steps):
            rng = np.random.default_rng([int(seed), i, zlib.crc32(str(step).encode())])
            out = _run(step, out, rng)
        return out


def _run(step: Perturbation, data: bytes, rng: np.random.Generator) -> bytes:
    op = step.definition
    kind = media_kind(data)
    impl = op.impls.get(kind)
    if impl is None:
        raise ValueError(f"{op.name} applies to {' and '.join(op.kinds)}, but the input is {kind}")
    return impl(data, rng, **step.kwargs)


def target_size(w: int, h: int, factor: float | None, long: int | None) -> tuple[int, int]:
    """New (w, h) for `resize(factor|long)`: scale by `factor`, or so that the longer side is `long`; the other
    side is rounded. Shared by the image and the video implementations of `resize`."""
    s = factor if factor is not None else long / max(w, h)
    return max(1, round(w * s)), max(1, round(h * s))


def media_kind(data: bytes) -> str:
    """image, audio or video, from the magic bytes (MP4/Matroska with a video stream count as video)."""
    from ..media.sniff import sniff

    found = sniff(data[:1 << 16])
    if found.kind == "av":
        return "video" if _has_video(data) else "audio"
    return found.kind


def _has_video(data: bytes) -> bool:
    import io

    import av

    with av.open(io.BytesIO(data)) as container:
        return bool(container.streams.video)


def _check_kinds(steps: Iterable[Perturbation]) -> None:
    """A chain must have at least one media kind that every step accepts (no JPEG after MP3)."""
    steps = list(steps)
    if not steps:
        return
    common = set(steps[0].kinds)
    for s in steps[1:]:
        if not common & set(s.kinds):
            raise ValueError(f"cannot chain {s.op!r} ({'/'.join(s.kinds)}) after steps that need "
                             f"{'/'.join(sorted(common))} input")
        common &= set(s.kinds)


def parse(spec: str | Perturbation | Chain) -> Chain:
    """Parse `step|step|...`, where a step is `name`, `name(v, k=v, ...)` or `chain:<platform>`.

    A positional value goes to the op's first parameters in order. Raises ValueError saying what is wrong and
    what is allowed.
    """
    if isinstance(spec, Chain):
        return spec
    if isinstance(spec, Perturbation):
        return Chain((spec,))
    if not isinstance(spec, str):
        raise TypeError(f"parse() takes a spec string, not {type(spec).__name__}")
    if not spec.strip():
        raise ValueError("empty perturbation spec; write e.g. 'jpeg(q=75)|resize(0.5)'")
    return Chain(tuple(_parse_step(part, spec) for part in spec.split("|")))


def _parse_step(text: str, whole: str) -> Perturbation:
    m = _CHAIN.match(text)
    if m:
        return Perturbation("chain", {"platform": m.group(1)})
    if not text.strip():
        raise ValueError(f"malformed spec {whole!r}: empty step (two '|' in a row, or one at an end)")
    m = _STEP.match(text)
    if not m:
        raise ValueError(f"malformed step {text.strip()!r} in {whole!r}: write name or name(k=v, ...)")
    name, body = m.group(1).lower(), m.group(2)
    if body is not None and ("(" in body or ")" in body):
        raise ValueError(f"malformed step {text.strip()!r}: unbalanced or nested parentheses")
    op = _lookup(name)
    return Perturbation(name, _parse_args(op, body or "", text.strip()))


def _parse_args(op: Op, body: str, step: str) -> dict[str, Any]:
    args: dict[str, Any] = {}
    if not body.strip():
        return args
    positional = True
    for i, raw in enumerate(body.split(",")):
        item = raw.strip()
        if not item:
            raise ValueError(f"malformed step {step!r}: empty argument")
        if "=" in item:
            key, _, value = (s.strip() for s in item.partition("="))
            if not key or not value:
                raise ValueError(f"malformed argument {item!r} in {step!r}: write key=value")
            positional = False
        elif not positional:
            raise ValueError(f"malformed step {step!r}: positional value {item!r} after a key=value")
        elif i >= len(op.params):
            raise ValueError(f"{op.name}: too many values in {step!r}; usage: {op.usage()}")
        else:
            key, value = op.params[i].name, item
        if key in args:
            raise ValueError(f"{op.name}: {key} given twice in {step!r}")
        args[key] = value
    return args
