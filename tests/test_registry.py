"""The detector registry: discovery, lookup with 'did you mean', plugins, cheap listing, and the
`unmask detectors` command."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap

import pytest
from typer.testing import CliRunner

from unmask.cli import app
from unmask.detectors import Detector, Evidence, Registry
from unmask.errors import MissingDependency, UnknownDetector

BUILTIN = {"ela", "metadata"}


class Needy(Detector):
    name = "needy"
    modalities = ("audio",)
    extra = "audio"
    requires = ("surely_not_an_installed_module_xyz",)

    def predict(self, media):  # pragma: no cover - never run
        raise AssertionError

    def to_evidence(self, native, media):  # pragma: no cover
        raise AssertionError


def test_default_registry_discovers_builtin_detectors_in_sorted_order():
    registry = Registry.default()
    names = registry.names()
    assert set(names) >= BUILTIN
    assert names == sorted(names) and [c.name for c in registry] == names
    for cls in registry:
        assert cls.modalities and cls.description, f"{cls.name} must declare modalities and a description"


def test_lookup_is_case_insensitive_and_suggests_close_names():
    registry = Registry.default()
    assert registry.get("ELA").name == "ela"
    with pytest.raises(UnknownDetector, match=r"did you mean 'ela'"):
        registry.get("elaa")
    with pytest.raises(UnknownDetector, match=r"did you mean 'metadata'"):
        registry.get("metdata")
    with pytest.raises(UnknownDetector) as info:
        registry.get("zzzzzz")
    assert "did you mean" not in str(info.value)


def test_two_detectors_with_one_name_are_refused():
    class Other(Needy):
        pass

    with pytest.raises(ValueError, match="two detectors are named 'needy'"):
        Registry([Needy, Other])


def test_missing_dependency_names_the_extra_to_install():
    registry = Registry([Needy])
    (row,) = registry.describe()
    assert row["installed"] is False and row["extra"] == "audio"
    with pytest.raises(MissingDependency, match=r'pip install "unmask\[audio\]"'):
        Needy.ensure_installed()
    assert registry.for_media("audio", "default") == [Needy]
    assert registry.for_media("image", "default") == []


def test_listing_detectors_does_not_import_heavy_libraries():
    code = textwrap.dedent("""
        import sys
        from unmask.detectors import Registry
        rows = Registry.default().describe()
        heavy = sorted(m for m in ("cv2", "scipy", "pywt", "torch", "av", "soundfile", "skimage", "sklearn")
                       if m in sys.modules)
        print(len(rows), heavy)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().endswith("[]"), f"listing detectors imported heavy modules: {out}"


def test_entry_point_plugins_are_registered(tmp_path, monkeypatch):
    (tmp_path / "my_plugin.py").write_text(textwrap.dedent("""
        from unmask.detectors import Detector, Evidence

        class Plugged(Detector):
            name = "plugged"
            modalities = ("text",)
            description = "A detector from another package."

            def predict(self, media):
                return len(media.text)

            def to_evidence(self, native, media):
                return Evidence(score=0.1, summary=f"{native} characters.")
    """), encoding="utf-8")
    dist = tmp_path / "my_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-plugin\nVersion: 1.0\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text("[unmask.detectors]\nplugged = my_plugin:Plugged\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = Registry.default()
    assert "plugged" in registry.names()
    from unmask.analysis import Analyzer

    report = Analyzer(detectors=["plugged"], registry=registry).analyze(b"hello plugin world")
    assert report.evidence[0].summary == "18 characters."
    assert "plugged" not in Registry.default(plugins=False).names()


def test_detector_contract_defaults():
    class Tiny(Detector):
        name = "tiny"
        modalities = ("text",)

        def predict(self, media):
            return None

        def to_evidence(self, native, media):
            return Evidence(score=None, summary="nothing")

    assert Tiny.profiles == ("fast", "default", "thorough") and Tiny.installed()
    assert Tiny().analyze(None).summary == "nothing"


# ------------------------------------------------------------------------------------------ the command


runner = CliRunner()


def flat(text: str) -> str:
    """Output with Rich's box drawing removed and whitespace collapsed, so wrapped messages can be matched."""
    return " ".join(re.sub(r"[\u2500-\u257f]", " ", text).split())


def test_cli_lists_detectors():
    result = runner.invoke(app, ["detectors"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    for name in BUILTIN:
        assert name in result.output
    assert "installed" in result.output and "modalities" in result.output


def test_cli_lists_detectors_as_json_with_installed_flags():
    result = runner.invoke(app, ["detectors", "--json"])
    assert result.exit_code == 0
    rows = json.loads(result.stdout)
    by_name = {r["name"]: r for r in rows}
    assert set(by_name) >= BUILTIN
    assert set(by_name["ela"]) >= {"modalities", "outputs", "extra", "installed", "profiles", "description"}
    assert by_name["ela"]["installed"] is True and by_name["ela"]["modalities"] == ["image"]


def test_cli_shows_one_detector_and_suggests_names_for_unknown_ones():
    result = runner.invoke(app, ["detectors", "metadata", "--json"])
    assert result.exit_code == 0 and [r["name"] for r in json.loads(result.stdout)] == ["metadata"]
    result = runner.invoke(app, ["detectors", "metadta"])
    assert result.exit_code == 2
    assert "did you mean 'metadata'" in flat(result.output)


def test_broken_plugin_is_recorded_not_fatal(monkeypatch) -> None:
    """A third-party entry point that fails to import leaves the built-in detectors usable."""
    from importlib.metadata import EntryPoint

    from unmask.detectors import registry as registry_module

    broken = EntryPoint(name="broken", value="no_such_module_xyz:Thing", group="unmask.detectors")
    monkeypatch.setattr(registry_module, "entry_points", lambda group: [broken])
    reg = registry_module.Registry.default()
    assert "ela" in reg.names()
    assert len(reg.load_errors) == 1 and "broken" in reg.load_errors[0]
