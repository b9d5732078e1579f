"""Stages and the registry that maps recipe names to them.

Adding a stage is one module and one line here; nothing registers itself on import.
"""

from __future__ import annotations

from curate.stages import classify, decontaminate, dedupe, format, language, mix, quality, tokenize
from curate.stages.base import BatchStage, GlobalStage, Stage, StageRegistry
from curate.stages.clean import CLEAN

REGISTRY: dict[str, Stage] = {
    "clean": CLEAN,
    "quality": quality.STAGE,
    "dedupe": dedupe.STAGE,
    "language": language.STAGE,
    "classify": classify.STAGE,
    "decontaminate": decontaminate.STAGE,
    "mix": mix.STAGE,
    "format": format.STAGE,
    "tokenize": tokenize.STAGE,
}

__all__ = ["REGISTRY", "BatchStage", "GlobalStage", "Stage", "StageRegistry"]
