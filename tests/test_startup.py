"""Start-up stays cheap: heavy libraries are imported only by the detectors that need them, when they run.

Not timed (timings live in benchmarks/startup.py): each check runs in a fresh interpreter and looks at which
modules `sys.modules` holds afterwards, so a module-level `import torch` (or scipy, cv2, ...) that slips into
the CLI, the registry or a detector module fails here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

# Libraries that cost from 0.1 s (cv2) to over 1 s (torch) to import; none is needed to start the CLI.
HEAVY = ("torch", "safetensors", "scipy", "cv2", "sklearn", "fastapi", "uvicorn", "dlib", "av", "pywt", "jpeglib")


def loaded_after(code: str) -> set[str]:
    """Top-level names of the heavy modules imported by running `code` in a new interpreter."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    return set(json.loads(out.stdout.strip().splitlines()[-1])) & set(HEAVY)


def test_import_and_cli_help_import_no_heavy_library() -> None:
    code = """
import unmask
import unmask.cli
from typer.testing import CliRunner
runner = CliRunner()
for args in (["--help"], ["scan", "--help"], ["--version"]):
    result = runner.invoke(unmask.cli.app, args)
    assert result.exit_code == 0, (args, result.output)
"""
    assert loaded_after(code) == set()


def test_registry_and_analyzers_import_no_heavy_library() -> None:
    """Listing detectors and building an Analyzer for every profile loads no model and no heavy library:
    that happens when a detector first runs."""
    code = """
import unmask
from unmask.detectors import PROFILES, Registry
rows = Registry.default().describe()
assert rows
for profile in PROFILES:
    analyzer = unmask.Analyzer(profile=profile)
    assert analyzer.detector_names
"""
    assert loaded_after(code) == set()


def test_detectors_that_do_not_run_import_nothing(tmp_path: Path, photo: np.ndarray) -> None:
    """An analysis loads only what its detectors use: the fast profile never imports torch or dlib, and the
    scipy-based JPEG detectors avoid scipy.stats (about 0.4 s to import)."""
    from PIL import Image

    path = tmp_path / "photo.jpg"
    Image.fromarray(photo).save(path, quality=90)
    code = f"""
import sys
import unmask
for analyzer in (unmask.Analyzer(profile="fast", skip_uninstalled=True),
                 unmask.Analyzer(detectors=["jpeg_fingerprint", "jpeg_double_quant"])):
    report = analyzer.analyze({str(path)!r})
    assert report.analysed, report.errors
assert "scipy.stats" not in sys.modules
"""
    loaded = loaded_after(code)
    assert not loaded & {"torch", "safetensors", "dlib", "sklearn", "fastapi"}


def test_face_finder_loads_only_the_models_it_needs() -> None:
    """A photo without a face reads only dlib's HOG detector, not the 100 MB landmark model or the
    descriptor network; `_load()` with no argument still loads all three (for warm-up)."""
    pytest.importorskip("dlib")
    from unmask.errors import MissingDependency
    from unmask.faces.detect import DlibFaceFinder, model_dir

    try:
        model_dir()
    except MissingDependency:
        pytest.skip("face-recognition-models is not installed")
    finder = DlibFaceFinder()
    assert finder.find(np.full((120, 160, 3), 128, np.uint8)) == []
    models = finder._models
    assert models.detector is not None and models.predictor is None and models.encoder is None
    derived = finder.with_options(upsample=1)
    derived._load()
    assert models.predictor is not None and models.encoder is not None  # shared with the derived finder
