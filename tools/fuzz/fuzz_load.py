"""Coverage-guided fuzzing of `unmask.load()` with atheris (libFuzzer for Python), one loader kind per run.

    python tools/fuzz/fuzz_load.py jpeg --work fuzz-work -- -max_total_time=3600

The run starts from the kind's generated seeds (tools/fuzz/corpus.py), keeps what reaches new coverage in
WORK/<kind>/corpus, and writes any crash (an exception that is not a MediaError), hang (over 10 s) or
runaway memory (over 2 GB) to WORK/<kind>/crashes/ for a regression file. Flags after `--` go to libFuzzer.
docs/fuzzing.md describes the long run and what to do with a crash.

unmask's own modules and Pillow's (its format plugins parse headers in Python) are instrumented for
coverage; the native decoders (libjpeg, libpng, libwebp, libtiff, FFmpeg, libsndfile) run uninstrumented.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
from pathlib import Path

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus

# Bytes that make the sniffer call a file this kind: the mutator puts a seed's prefix back (most of the
# time) when a mutation broke it, so each run keeps fuzzing its own loader rather than the unknown-bytes path.
PREFIX = {"jpeg": 3, "png": 8, "webp": 12, "tiff": 4, "mp4": 12, "wav": 12, "flac": 4, "mp3": 3}
HANG_S = 10
RSS_MB = 2048
STRUCTURED_SHARE = 0.3  # share of mutations done by corpus.MUTATIONS (chunk-aware) instead of libFuzzer's


def _args(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    """(this script's arguments, the flags after `--` for libFuzzer)."""
    own, libfuzzer = argv, []
    if "--" in argv:
        cut = argv.index("--")
        own, libfuzzer = argv[:cut], argv[cut + 1:]
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("kind", choices=corpus.KINDS)
    parser.add_argument("--work", type=Path, default=Path("fuzz-work"), help="corpus and crash folders")
    parser.add_argument("--max-pixels", type=int, default=None,
                        help="the loader's pixel limit (default: the project's, 100 MP); a smaller one skips "
                             "decoding the many large-but-allowed images mutated headers declare (a 3-KB TIFF "
                             "of 24x1,572,864 pixels takes a second) and so runs many more inputs")
    return parser.parse_args(own), libfuzzer


def _prepare(work: Path, kind: str) -> tuple[Path, Path]:
    """WORK/<kind>/corpus (seeded on first use) and WORK/<kind>/crashes."""
    folder, crashes = work / kind / "corpus", work / kind / "crashes"
    crashes.mkdir(parents=True, exist_ok=True)
    if not folder.exists() or not any(folder.iterdir()):
        folder.mkdir(parents=True, exist_ok=True)
        for name, data in corpus.seeds(kind):
            (folder / f"seed-{name}").write_bytes(data)
    return folder, crashes


def _mutator(kind: str):
    """libFuzzer's byte mutations mixed with the chunk-aware ones, the kind's magic bytes mostly kept."""
    prefixes = [data[:PREFIX[kind]] for _, data in corpus.seeds(kind)] if kind in PREFIX else []

    def mutate(data: bytes, max_size: int, seed: int) -> bytes:
        rng = random.Random(seed)
        if data and rng.random() < STRUCTURED_SHARE:
            out = corpus.mutate(kind, data, corpus.random_ops(rng, 1))[:max_size]
        else:
            out = atheris.Mutate(data, max_size)
        if prefixes and out and rng.random() < 0.9:
            prefix = rng.choice(prefixes)
            out = (prefix + out[len(prefix):])[:max_size]
        return out or b"\x00"

    return mutate


def main(argv: list[str]) -> None:
    args, libfuzzer = _args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    with atheris.instrument_imports(include=["unmask", "PIL"]):
        from PIL import Image

        import unmask.media  # noqa: F401  (instrumented before corpus.exercise imports it)
        from unmask.limits import DEFAULT_LIMITS, Limits

        Image.init()  # every Pillow plugin, imported now so it is instrumented
    folder, crashes = _prepare(args.work, args.kind)
    limits = Limits(max_pixels=args.max_pixels) if args.max_pixels else DEFAULT_LIMITS
    flags = [f"-timeout={HANG_S}", f"-rss_limit_mb={RSS_MB}", f"-artifact_prefix={crashes}/",
             "-max_len=65536", "-print_final_stats=1"]

    def one_input(data: bytes) -> None:
        corpus.exercise(data, limits)

    atheris.Setup([sys.argv[0], *flags, *libfuzzer, str(folder)], one_input, custom_mutator=_mutator(args.kind))
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv[1:])
