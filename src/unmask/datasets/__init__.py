"""Datasets for unmask's research side: one manifest format, adapters from standard layouts, and checks.

```python
from unmask.datasets import Manifest, convert, check_manifest
manifest = convert("casia1", "../shared/data/casia1")     # or Manifest.read("items.jsonl")
manifest.write("casia1.jsonl")
report = check_manifest(manifest)                           # counts, missing, duplicates, leaks, shortcuts
```
See docs/datasets.md for the manifest fields, every adapter and `unmask data check`.
"""

from __future__ import annotations

from .adapters import ADAPTERS, Adapter, available, convert
from .check import CheckReport, check_manifest
from .manifest import Item, Manifest, ManifestError

__all__ = [
    "ADAPTERS",
    "Adapter",
    "CheckReport",
    "Item",
    "Manifest",
    "ManifestError",
    "available",
    "check_manifest",
    "convert",
]
