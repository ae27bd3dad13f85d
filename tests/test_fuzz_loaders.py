"""Fuzzed loaders and renderers (issue 18): the short, reproducible in-suite run.

- Every loader kind (JPEG, PNG, WebP, TIFF, MP4, WAV, FLAC, MP3, text, post JSON): hypothesis mutates the
  kind's seed files (bit flips, truncation, byte insertion and deletion, header-field corruption, chunk
  duplication and removal) and `load()` must return media or raise a MediaError, within the hang bound, and
  so must the first lazy read (a second of audio, the first video frames).
- The hostile-file corpus: the committed regression files of tests/assets/hostile/ (crashes the fuzzers found,
  each fixed) plus mutants generated deterministically from the seeds, replayed from bytes and from a path.
- The report renderers (JSON, terminal, HTML) with generated reports whose text is hostile (control characters,
  markup, HTML and script injection, huge text) and whose numbers are huge or NaN: they render, and escape.

The seeds, mutations and the rule are tools/fuzz/corpus.py, shared with the coverage-guided long run
(tools/fuzz/fuzz_load.py, docs/fuzzing.md). Hypothesis runs derandomized, so CI sees the same examples.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import math
import re
import subprocess
import sys
import time
from html.parser import HTMLParser
from pathlib import Path
from types import ModuleType

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rich.console import Console

from unmask.detectors.evidence import ProvenanceFact, SegmentModel
from unmask.report.html import render_html
from unmask.report.model import ErrorEntry, EvidenceEntry, MediaInfo, Report, Verdict
from unmask.report.terminal import print_failures, print_summary

ROOT = Path(__file__).resolve().parents[1]
HOSTILE = Path(__file__).with_name("assets") / "hostile"
HANG_S = 10.0  # the fuzzing target's hang bound: one input over this is a hang
GENERATED_PER_KIND = 24
MIN_CORPUS = 200


def _corpus_module() -> ModuleType:
    """tools/fuzz/corpus.py, imported by path (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location("fuzz_corpus", ROOT / "tools" / "fuzz" / "corpus.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["fuzz_corpus"] = module
    spec.loader.exec_module(module)
    return module


corpus = _corpus_module()
pytest.importorskip("av")
pytest.importorskip("soundfile")

# A fixed profile: the same examples on every run, no example database, no per-example deadline (the hang
# bound is checked by the test itself).
FUZZ = settings(derandomize=True, database=None, deadline=None, print_blob=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])
EXAMPLES = {"mp4": 200, "flac": 300, "mp3": 300, "tiff": 300}  # slower decoders get fewer; the rest 400


def _bounded(data: bytes) -> str:
    """corpus.exercise (load + first read; anything but a MediaError propagates) within the hang bound."""
    start = time.perf_counter()
    outcome = corpus.exercise(data)
    elapsed = time.perf_counter() - start
    assert elapsed < HANG_S, f"{elapsed:.1f} s for {len(data)} bytes starting {data[:16].hex(' ')}"
    return outcome


# ------------------------------------------------------------------------------------------ loaders

OPS = st.tuples(st.sampled_from(sorted(corpus.MUTATIONS)), st.integers(0, 1 << 20), st.integers(0, 1 << 16),
                st.integers(0, 255))


@st.composite
def mutants(draw: st.DrawFn, kind: str) -> bytes:
    """One of the kind's seeds after one to four mutations, or (one time in eight) with hypothesis's own
    bytes spliced in."""
    _, data = draw(st.sampled_from(corpus.seeds(kind)))
    data = corpus.mutate(kind, data, draw(st.lists(OPS, min_size=1, max_size=4)))
    if draw(st.integers(0, 7)) == 0:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=64)) + data[at + draw(st.integers(0, 64)):]
    return data


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", corpus.KINDS)
def test_mutated_seeds_load_or_raise_a_media_error(kind: str) -> None:
    outcomes: set[str] = set()

    @settings(FUZZ, max_examples=EXAMPLES.get(kind, 400))
    @given(data=mutants(kind))
    def check(data: bytes) -> None:
        outcomes.add(_bounded(data))

    check()
    assert any(o.startswith("error:") for o in outcomes), outcomes  # the mutations do break files
    assert any(o.startswith("ok:") for o in outcomes), outcomes  # ...and not all of them


@pytest.mark.parametrize("kind", corpus.KINDS)
def test_every_seed_loads(kind: str) -> None:
    """The seeds are real files of their kind, so mutations start from a parser's happy path. The MP4 seeds
    include an audio-only one (an M4A) and the MP3 seeds raw AAC, so FFmpeg's AAC decoder is fuzzed too."""
    want = {"mp4": "video", "wav": "audio", "flac": "audio", "mp3": "audio", "text": "text", "post": "post"}
    for name, data in corpus.seeds(kind):
        expected = "audio" if "aac" in name else want.get(kind, "image")  # MP4 holding AAC alone, ADTS AAC
        assert corpus.exercise(data) == f"ok:{expected}", name


# ------------------------------------------------------------------------------------------ the corpus


def _committed() -> list[Path]:
    return sorted(p for p in HOSTILE.rglob("*") if p.is_file() and p.name != "README.md")


def _hostile_corpus() -> list[tuple[str, bytes]]:
    generated = [item for kind in corpus.KINDS for item in corpus.hostile_files(kind, GENERATED_PER_KIND)]
    return [(str(p.relative_to(HOSTILE)), p.read_bytes()) for p in _committed()] + generated


def test_hostile_corpus_is_large_and_small() -> None:
    files = _hostile_corpus()
    assert len(files) >= MIN_CORPUS, len(files)
    assert len({kind for kind in corpus.KINDS if any(name.startswith(f"{kind}") for name, _ in files)}) == 10
    assert sum(p.stat().st_size for p in _committed()) < 2_000_000


@pytest.mark.timeout(120)
def test_hostile_corpus_replays_from_bytes_and_from_a_path(tmp_path: Path) -> None:
    """Each file loads or raises a MediaError, given as bytes and as a file (audio and video are then read
    through the path, not a memory buffer)."""
    from unmask import load
    from unmask.errors import MediaError

    outcomes: dict[str, int] = {}
    for i, (name, data) in enumerate(_hostile_corpus()):
        outcome = _bounded(data)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        path = tmp_path / f"{i:03d}-{Path(name).name}"
        path.write_bytes(data)
        with contextlib.suppress(MediaError):
            load(path).info()
    assert sum(v for k, v in outcomes.items() if k.startswith("error:")) > 100, outcomes


def test_a_post_with_hostile_attachments_loads_with_warnings(tmp_path: Path) -> None:
    """A post's local images are loaded through the same decoder: broken ones become the post's warnings,
    never the post's failure (the post itself is fine)."""
    from unmask import load

    names = []
    for kind in ("jpeg", "png", "webp", "tiff", "mp4", "wav"):
        for i, (_, data) in enumerate(corpus.hostile_files(kind, 6, seed=7)):
            names.append(f"{kind}-{i}.{corpus.EXTENSIONS[kind]}")
            (tmp_path / names[-1]).write_bytes(data)
    post = tmp_path / "post.json"
    post.write_text(json.dumps({"text": "hostile attachments", "images": names}), encoding="utf-8")
    media = load(post)
    assert media.kind == "post" and len(media.images) + len(media.image_refs) == len(names)
    assert media.warnings


def test_committed_regressions_replay_in_a_child_process() -> None:
    """The crashes the fuzzers found, each replayed in a fresh interpreter: some killed the process (a
    segfault in a native decoder), which a test in this process would only show by dying."""
    code = ("import sys; sys.path.insert(0, sys.argv[1]); import corpus\n"
            "for name in sys.argv[2:]: print(corpus.exercise(open(name, 'rb').read()))")
    files = _committed()
    proc = subprocess.run([sys.executable, "-c", code, str(ROOT / "tools" / "fuzz"), *map(str, files)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert len(proc.stdout.split()) == len(files)


def test_eight_channel_aac_decodes() -> None:
    """The fuzzers' first segfault: PyAV miscounts the planes of an 8-channel planar frame, so audio is
    decoded as packed float; an AAC header declaring 7.1 now reads as 8 channels."""
    from unmask import load

    media = load((HOSTILE / "aac" / "crash-7.1-planar-frame-segfault.aac").read_bytes())
    assert media.channels == 8
    assert media.read().shape == (1024, 8)


# ------------------------------------------------------------------------------------------ renderers

MARKUP = ["<script>alert(1)</script>", "</script><script>alert(2)</script>", '<img src=x onerror="alert(3)">',
          '"><svg onload=alert(4)>', "[/red][bold magenta]markup[/]", "{{ 7*7 }}{% raw %}", "\x1b[2J\x1b[31mred",
          "\x00\x07\x08\r\x0b\x0c\x7f\x9b", "\u202egnp.exe", "A" * 5000, "line\nbreak\ttab", "😀" * 50]

hostile_text = st.one_of(st.sampled_from(MARKUP), st.text(max_size=40),
                         st.builds(lambda a, b, c: a + b + c, st.text(max_size=8), st.sampled_from(MARKUP),
                                   st.text(max_size=8)))
any_float = st.floats(allow_nan=True, allow_infinity=True) | st.floats(-1e300, 1e300)
huge_int = st.integers(-(1 << 70), 1 << 70)
unit = st.floats(0.0, 1.0)
json_value = st.recursive(st.none() | st.booleans() | huge_int | any_float | hostile_text,
                          lambda inner: st.lists(inner, max_size=3) | st.dictionaries(hostile_text, inner, max_size=3),
                          max_leaves=8)


@st.composite
def verdicts(draw: st.DrawFn) -> Verdict | None:
    label = draw(st.sampled_from(["authentic", "inconclusive", "manipulated", "ai-generated", "no-opinion", None]))
    if label is None:
        return None
    probability = None if label == "no-opinion" else draw(unit)
    return Verdict(label=label, probability=probability, calibrated=draw(st.booleans()))


@st.composite
def speech_details(draw: st.DrawFn) -> dict:
    """A speech detector's window track, with extreme times and gaps (too-quiet windows)."""
    n = draw(st.integers(1, 6))
    starts = sorted(draw(st.lists(st.floats(0, 1e6), min_size=n, max_size=n)))
    scores = draw(st.lists(unit | st.none(), min_size=n, max_size=n))
    return {"window_starts": starts, "window_scores": scores, "window_s": draw(st.floats(0, 1e3)),
            "hop_s": draw(st.floats(0, 1e3))}


@st.composite
def evidence(draw: st.DrawFn) -> EvidenceEntry:
    details = draw(speech_details()) if draw(st.booleans()) else draw(
        st.dictionaries(hostile_text, json_value, max_size=3))
    segments = [SegmentModel(start_s=a, end_s=b, score=s, label=draw(hostile_text))
                for a, b, s in draw(st.lists(st.tuples(st.floats(0, 1e5), st.floats(0, 1e5), unit), max_size=2))]
    return EvidenceEntry(detector=draw(hostile_text), score=draw(unit | st.none()), summary=draw(hostile_text),
                         part=draw(st.none() | hostile_text), segments=segments, details=details,
                         attribution=draw(st.dictionaries(hostile_text, any_float, max_size=2)),
                         contribution=draw(st.none() | any_float), runtime_s=draw(any_float))


@st.composite
def reports(draw: st.DrawFn) -> Report:
    media = MediaInfo(path=draw(st.none() | hostile_text), sha256=draw(st.none() | hostile_text),
                      kind=draw(st.sampled_from(["image", "video", "audio", "text", "post", "unknown"])),
                      format=draw(st.none() | hostile_text), size_bytes=draw(st.none() | huge_int),
                      width=draw(st.none() | huge_int), height=draw(st.none() | huge_int),
                      duration_s=draw(st.none() | st.sampled_from([math.nan, math.inf, 1e308]) | any_float))
    facts = [ProvenanceFact(source=draw(hostile_text), claim=draw(hostile_text), detail=draw(hostile_text))
             for _ in range(draw(st.integers(0, 2)))]
    errors = [ErrorEntry(code=draw(hostile_text), message=draw(hostile_text), fatal=draw(st.booleans()))
              for _ in range(draw(st.integers(0, 2)))]
    return Report(media=media, verdict=draw(verdicts()), reasons=draw(st.lists(hostile_text, max_size=3)),
                  evidence=draw(st.lists(evidence(), max_size=3)), provenance=facts, errors=errors,
                  runtime_s=draw(any_float), profile=draw(hostile_text))


def _speech_report(duration: float) -> Report:
    """An audio report with a speech score track and a duration that is not a usable number (the HTML page
    and the terminal once failed on it: m:ss.s of NaN)."""
    track = {"window_starts": [0.0, 1.0], "window_scores": [0.9, None], "window_s": 1.0}
    entry = EvidenceEntry(detector="speech", score=0.9, details=track,
                          segments=[SegmentModel(start_s=0.0, end_s=1.0, score=0.9)])
    return Report(media=MediaInfo(path="a.wav", kind="audio", duration_s=duration), evidence=[entry],
                  verdict=Verdict(label="manipulated", probability=0.9, calibrated=False))


def _strings(report: Report) -> list[str]:
    """The report's user-visible strings that came from (hostile) input."""
    found = [report.media.path or "", *report.reasons, *(f.claim for f in report.provenance),
             *(e.message for e in report.errors), *(e.summary for e in report.evidence)]
    return [s for s in found if s]


def _no_nan_tokens(text: str) -> None:
    """Strict JSON: NaN and Infinity are not JSON (a browser's JSON.parse refuses them)."""
    json.loads(text, parse_constant=lambda name: pytest.fail(f"{name} in JSON output"))


@pytest.mark.timeout(120)
@settings(FUZZ, max_examples=80)
@given(report=reports())
def test_json_renders_strict_json_and_keeps_the_text(report: Report) -> None:
    text = report.to_json()
    _no_nan_tokens(text)
    back = json.loads(text)
    assert back["reasons"] == report.reasons
    assert back["media"]["path"] == report.media.path
    for original, entry in zip(report.evidence, back["evidence"], strict=True):
        assert entry["summary"] == original.summary
        if original.runtime_s is not None and math.isfinite(original.runtime_s):
            assert entry["runtime_s"] == original.runtime_s


_ESC = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


@pytest.mark.timeout(120)
@settings(FUZZ, max_examples=80)
@given(report=reports(), failures=st.lists(st.tuples(hostile_text, hostile_text), max_size=2))
@example(report=_speech_report(math.nan), failures=[]).via("NaN duration")
def test_terminal_renders_without_passing_control_characters_through(report: Report, failures) -> None:
    """Plain output (no colours): no control character of a file name or metadata reaches the terminal, where
    `ESC [2J` would clear the screen and `ESC ]` rewrite the window title; markup prints as text."""
    out = io.StringIO()
    console = Console(file=out, width=120, force_terminal=False, color_system=None, no_color=True)
    print_summary([report], console)
    print_failures(failures, 1, console)
    text = out.getvalue()
    assert not _ESC.search(text), repr(_ESC.search(text).group())
    shown = (report.media.path or "").replace("\\", "/").rsplit("/", 1)[-1]  # the table shows the base name
    if "[bold magenta]" in shown:  # printed as text, not taken as rich markup (the table may wrap the rest)
        assert "[bold" in text


class _Tags(HTMLParser):
    """The elements and event-handler attributes of a page, as a browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.handlers: set[tuple[str, str]] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.handlers |= {(name, value or "") for name, value in attrs if name.startswith("on")}


def _parse(page: str) -> _Tags:
    parser = _Tags()
    parser.feed(page)
    parser.close()
    return parser


@pytest.mark.timeout(120)
@settings(FUZZ, max_examples=80)
@given(report=reports())
@example(report=_speech_report(math.nan)).via("NaN duration")
@example(report=_speech_report(1e308)).via("a duration too long for m:ss.s")
def test_html_renders_and_escapes(report: Report) -> None:
    """No hostile string becomes markup: the page has no script element and no event handler (the template's
    only one, on an overlay's opacity slider, needs a preview image, which these reports lack), and an
    injected tag shows as text."""
    page = render_html([report, report])
    parsed = _parse(page)
    assert "script" not in parsed.tags
    assert not parsed.handlers, parsed.handlers
    assert page.rstrip().endswith("</html>")
    for s in _strings(report):
        if "<script>alert(1)" in s:
            assert "&lt;script&gt;alert(1)" in page
