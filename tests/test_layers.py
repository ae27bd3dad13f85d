"""The import graph flows one way (issue 14, item 7; docs/architecture.md#layers).

Every module under src/unmask is parsed with `ast` (nothing is imported), and every import statement counts:
at module level, inside functions, under `if TYPE_CHECKING:`, relative or absolute. From them:

- no import loop: no two modules reach each other through imports (strongly connected components of the
  module graph have one module each). A package's `__init__` re-exporting its submodules is an ordinary edge
  from the package to them; a submodule that imports its own package's `__init__` back is a loop.
- one-way layers: each package imports only its own modules and the packages below it in `LAYERS`, plus the
  few module-level allowances in `ALLOWED`, each with its reason.
- module names match detector names: `detectors/<modality>/<name>.py` holds the detector called `<name>`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"

# Package -> (side, rank). A module may import modules of its own package, and packages of a lower rank:
# - library: only lower-ranked library packages (never research packages or front ends);
# - research: lower-ranked research packages and every library package (never front ends);
# - front ends: anything of a lower rank on any side.
LAYERS: dict[str, tuple[str, float]] = {
    # base: no unmask imports at all
    "unmask._version": ("library", 0),
    "unmask.errors": ("library", 0),
    "unmask.limits": ("library", 0),
    # loading: sniffing, limits, typed media containers
    "unmask.media": ("library", 1),
    # what detectors share, each independent of the others: pixel work, fact readers, faces, networks
    "unmask.preprocess": ("library", 2),
    "unmask.provenance": ("library", 2),
    "unmask.faces": ("library", 2),
    "unmask.audio": ("library", 2),
    "unmask.learned": ("library", 2),
    # text analysis: word spans, hashed TF-IDF, the solver, context, entities, domains, sentence encoders
    "unmask.text": ("library", 2),
    # the post checks' shared parts (perceptual hashes, the image index, dates), which read EXIF and XMP
    # through provenance, so they sit between it and the detectors
    "unmask.posts": ("library", 2.5),
    # the detector contract, the evidence types, the registry and the detectors
    "unmask.detectors": ("library", 3),
    # evidence -> a report (schema, wording, renderers); detector scores -> probabilities
    "unmask.report": ("library", 4),
    "unmask.calibration": ("library", 4),
    # every finding -> one verdict (imports report for its types and words; report never imports verdict)
    "unmask.verdict": ("library", 5),
    # one media -> one report
    "unmask.analysis": ("library", 6),
    # the package root: `unmask.load`, `unmask.analyze`, `unmask.Analyzer`, `unmask.Report` (lazily)
    "unmask": ("library", 7),
    # many files -> ordered reports (the Python batch API and the CLI's engine)
    "unmask.scan": ("library", 8),
    # many files on Ray Data -> a resumable Parquet dataset (`unmask batch`); its workers run unmask.scan's items
    "unmask.batch": ("library", 9),
    # research: metrics < datasets, perturbations < benchmark runner < training
    "unmask.metrics": ("research", 0),
    "unmask.datasets": ("research", 1),
    "unmask.perturb": ("research", 1),
    "unmask.bench": ("research", 2),
    "unmask.train": ("research", 3),
    # front ends: the web service, then the command line (which starts the service)
    "unmask.serve": ("front", 9),
    "unmask.cli": ("front", 10),
}

# (importing module or package, imported package) -> why the layers allow it.
ALLOWED: dict[tuple[str, str], str] = {
    ("unmask.calibration.store", "unmask.metrics"):
        "fit_calibration measures ECE and Brier with the benchmark's own metric code, so `unmask calibrate` "
        "and `unmask bench` report the same numbers; applying a calibration never imports it",
    ("unmask.verdict.fit", "unmask.metrics"):
        "fitting a verdict model reports held-out AUC/AP/ECE with the benchmark's metric code; fuse and "
        "model (what runs in an analysis) never import it",
    ("unmask.verdict.dev", "unmask.bench"):
        "the verdict model's development data are the cached scores of `unmask bench run` folders; only the "
        "fitting side (`unmask verdict fit`) reads them",
}


@dataclass(frozen=True)
class Import:
    """One import statement's target module, where it was written."""

    source: str
    target: str
    path: Path
    line: int

    def __str__(self) -> str:
        return f"{self.source} -> {self.target} ({self.path.relative_to(SRC.parent)}:{self.line})"


def modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module under src/unmask (packages by their __init__)."""
    out = {}
    for path in sorted((SRC / "unmask").rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _resolve(name: str, known: dict[str, Path]) -> str | None:
    """The module `name` is, or the package it lives in (`unmask.report.model.Report` -> its module)."""
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def imports(known: dict[str, Path]) -> Iterator[Import]:
    """Every import of an unmask module by an unmask module, as written in the source."""
    for module, path in known.items():
        seen: set[tuple[str, int]] = set()
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    origin = ".".join(base + ([node.module] if node.module else []))
                else:
                    origin = node.module or ""
                # `from pkg import sub` imports the module pkg.sub; `from mod import name` imports mod
                names = [f"{origin}.{a.name}" if f"{origin}.{a.name}" in known else origin for a in node.names]
            for name in names:
                target = _resolve(name, known) if name.split(".")[0] == "unmask" else None
                if target is not None and target != module and (target, node.lineno) not in seen:
                    seen.add((target, node.lineno))
                    yield Import(module, target, path, node.lineno)


def package_of(module: str) -> str:
    """The entry of LAYERS a module belongs to: `unmask.report.html` -> `unmask.report`."""
    return ".".join(module.split(".")[:2])


def allowed(imp: Import) -> bool:
    src, dst = package_of(imp.source), package_of(imp.target)
    if src == dst:
        return True
    if any(imp.source.startswith(who) and dst == what for who, what in ALLOWED):
        return True
    if src not in LAYERS or dst not in LAYERS:
        return False  # test_every_package_has_a_layer names it
    (src_side, src_rank), (dst_side, dst_rank) = LAYERS[src], LAYERS[dst]
    if src_side == "front":
        return dst_rank < src_rank or dst_side == "research"
    if src_side == "research" and dst_side == "library":
        return True
    return src_side == dst_side and dst_rank < src_rank


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative: the graph's strongly connected components."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                found.append(sorted(component))
    return found


def test_the_graph_is_read() -> None:
    """The parser sees the edges it must: a sanity check that the tests below are not vacuous."""
    edges = {(i.source, i.target) for i in imports(modules())}
    assert ("unmask.analysis", "unmask.verdict") in edges or ("unmask.analysis", "unmask.verdict.fuse") in edges
    assert ("unmask.verdict.fuse", "unmask.report.model") in edges
    assert len(edges) > 300


def test_no_import_loops() -> None:
    known = modules()
    graph: dict[str, set[str]] = {m: set() for m in known}
    where: dict[tuple[str, str], Import] = {}
    for imp in imports(known):
        graph[imp.source].add(imp.target)
        where.setdefault((imp.source, imp.target), imp)
    loops = [c for c in strongly_connected(graph) if len(c) > 1]
    detail = [f"loop {' <-> '.join(c)}:\n    " + "\n    ".join(
        str(where[(a, b)]) for a in c for b in sorted(graph[a]) if b in c) for c in loops]
    assert not loops, "\n".join(detail)


def test_every_package_has_a_layer() -> None:
    missing = sorted({package_of(m) for m in modules()} - set(LAYERS))
    assert not missing, f"add {missing} to LAYERS here and to docs/architecture.md#layers"


def test_layers_flow_one_way() -> None:
    wrong = [str(i) for i in imports(modules()) if not allowed(i)]
    assert not wrong, "imports against the layers (see LAYERS):\n" + "\n".join(wrong)


def test_allowances_are_still_needed() -> None:
    """An allowance nobody uses any more is removed, so the table says what the code does."""
    used = {(who, what) for i in imports(modules()) for who, what in ALLOWED
            if i.source.startswith(who) and package_of(i.target) == what}
    assert used == set(ALLOWED)


def test_detector_modules_are_named_after_their_detector() -> None:
    from unmask.detectors import Registry

    builtin = [c for c in Registry.default(plugins=False) if c.__module__.startswith("unmask.detectors.")]
    assert builtin
    wrong = [f"{c.__module__} holds {c.name!r}" for c in builtin if c.__module__.rpartition(".")[2] != c.name]
    assert not wrong, wrong
