"""Calibration: can a recipe's train-and-score loop, at its settings and on its data, detect
known damage? Damaged copies of the curated data (word-shuffled, wrong-language, duplicated and
boilerplate-laden documents, in doses) are trained and scored like the clean data, and each is
compared with it seed by seed.

::

    from curate.calibrate import calibrate

    result = calibrate("recipes/quickstart.yaml", out="calibrations/qs", doses=[0.1, 0.5])
    result.smallest  # {"shuffle": 0.1, "duplicate": None, ...}; None: not detectable at this budget
"""

from __future__ import annotations

from curate.calibrate.perturb import DEFECTS, Perturbed, chosen, dose_count, perturb, shuffle_words
from curate.calibrate.result import CalibrationResult
from curate.calibrate.run import DEFAULT_DOSES, calibrate
from curate.calibrate.table import (
    NOT_DETECTABLE,
    Detection,
    calibration_table,
    smallest_detected,
    variant_name,
    verdict_lines,
)

__all__ = [
    "DEFAULT_DOSES",
    "DEFECTS",
    "NOT_DETECTABLE",
    "CalibrationResult",
    "Detection",
    "Perturbed",
    "calibrate",
    "calibration_table",
    "chosen",
    "dose_count",
    "perturb",
    "shuffle_words",
    "smallest_detected",
    "variant_name",
    "verdict_lines",
]
