"""Score calibration for detectors: map a detector's raw score to a probability of fake fitted on dev data.

```python
from unmask.calibration import fit_calibration, Calibration
cal = fit_calibration("ela", "1", "platt", dev=(scores, labels), held_out=(s_test, y_test), target_fpr=0.05)
cal.save("ela.json")
Analyzer(calibrations={"ela": "ela.json"})   # reports then carry calibrated=True and details["raw_score"]
```
`unmask calibrate DETECTOR MANIFEST` does this from a manifest (see docs/calibration.md).
"""

from __future__ import annotations

from .fit import METHODS, apply, fit, fit_isotonic, fit_platt, fit_temperature, threshold_at_fpr
from .store import Calibration, calibrate_evidence, fit_calibration, packaged, resolve

__all__ = [
    "METHODS",
    "Calibration",
    "apply",
    "calibrate_evidence",
    "fit",
    "fit_calibration",
    "fit_isotonic",
    "fit_platt",
    "fit_temperature",
    "packaged",
    "resolve",
    "threshold_at_fpr",
]
