"""The verdict layer: every detector's evidence -> one verdict, its probability, operating point and reasons.

`fuse` (unmask.verdict.fuse) decides; `VerdictModel` (unmask.verdict.model) is a fitted model per modality and
profile, shipped under `verdict/data/<modality>-<profile>.json` and fitted by `unmask verdict fit`
(unmask.verdict.fit, scikit-learn) on development scores (unmask.verdict.dev); the words of each label come
from `unmask.report.words.describe`. Applying a model is numpy only.
"""

from .fuse import AUTHENTIC_AT, MANIPULATED_AT, fuse, order_reasons
from .model import VerdictModel, packaged, resolve

__all__ = ["AUTHENTIC_AT", "MANIPULATED_AT", "VerdictModel", "fuse", "order_reasons", "packaged", "resolve"]
