"""Copy a few of the long run's coverage inputs into the committed hostile corpus.

    python tools/fuzz/keep_corpus.py fuzz-work --per-kind 12

From fuzz-work/<kind>/corpus/ (the inputs libFuzzer kept because they reached new code; seeds excluded) it
takes up to `--per-kind` files spread evenly over their sizes, none over `--max-bytes`, and writes them as
tests/assets/hostile/<kind>/cov-<sha256 prefix>.<ext>, where tests/test_fuzz_loaders.py replays them.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import EXTENSIONS, KINDS, ROOT

DEST = ROOT / "tests" / "assets" / "hostile"


def pick(files: list[Path], count: int, max_bytes: int) -> list[Path]:
    """Up to `count` files spread evenly over the sizes (the smallest and the largest included)."""
    usable = sorted((p for p in files if p.stat().st_size <= max_bytes and not p.name.startswith("seed-")),
                    key=lambda p: (p.stat().st_size, p.name))
    if len(usable) <= count:
        return usable
    step = (len(usable) - 1) / max(count - 1, 1)
    return [usable[round(i * step)] for i in range(count)]


def keep(work: Path, kind: str, count: int, max_bytes: int) -> int:
    """Copy the picked files of one kind; returns how many were new."""
    folder = work / kind / "corpus"
    if not folder.is_dir():
        return 0
    out = DEST / kind
    out.mkdir(parents=True, exist_ok=True)
    new = 0
    for path in pick(list(folder.iterdir()), count, max_bytes):
        data = path.read_bytes()
        target = out / f"cov-{hashlib.sha256(data).hexdigest()[:12]}.{EXTENSIONS[kind]}"
        if not target.exists():
            target.write_bytes(data)
            new += 1
    return new


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("work", type=Path)
    parser.add_argument("--kinds", nargs="*", default=list(KINDS), choices=KINDS)
    parser.add_argument("--per-kind", type=int, default=12)
    parser.add_argument("--max-bytes", type=int, default=8192)
    args = parser.parse_args()
    for kind in args.kinds:
        print(kind, keep(args.work, kind, args.per_kind, args.max_bytes))


if __name__ == "__main__":
    main()
