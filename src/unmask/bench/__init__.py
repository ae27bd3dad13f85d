"""Benchmark runner: a YAML protocol -> cached per-item results -> metric tables and plots.

```python
from unmask.bench import load_protocol, run_protocol, write_report
summary = run_protocol(load_protocol("protocols/casia1.yaml"), "bench-out/casia1", limit=100)
write_report("bench-out/casia1")          # recomputed from the cache, no detector runs
```
The command line is `unmask bench run PROTOCOL --out DIR` and `unmask bench report DIR`; see docs/bench.md.
"""

from __future__ import annotations

from .cache import ResultCache, result_key
from .protocol import DataMissing, Protocol, ProtocolError, load_protocol
from .report import load_run, write_report
from .runner import RunSummary, run_protocol

__all__ = [
    "DataMissing",
    "Protocol",
    "ProtocolError",
    "ResultCache",
    "RunSummary",
    "load_protocol",
    "load_run",
    "result_key",
    "run_protocol",
    "write_report",
]
