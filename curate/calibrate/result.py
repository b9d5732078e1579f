"""What a calibration found: the table, the verdicts, the setup, the files."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from curate.calibrate.table import Detection
from curate.sweep.runner import SweepResult


@dataclass
class CalibrationResult:
    cal_dir: Path
    metric: str
    rows: list[Detection]
    smallest: dict[str, float | None]
    lines: list[str]
    epochs: float | None
    documents: int
    wrong_lang_source: str | None
    sweep: SweepResult
    seconds: float
    confidence: float
    files: dict[str, Path] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "cal_dir": str(self.cal_dir),
            "metric": self.metric,
            "confidence": self.confidence,
            "documents": self.documents,
            "epochs": self.epochs,
            "wrong_lang_source": self.wrong_lang_source,
            "smallest_detected": self.smallest,
            "verdicts": self.lines,
            "rows": [r.to_dict() for r in self.rows],
            "runs": [o.to_dict() for o in self.sweep.runs],
            "seconds": self.seconds,
            "warnings": self.warnings,
        }
