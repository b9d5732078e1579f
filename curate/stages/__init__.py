"""Stages and the registry that maps recipe names to them.

Adding a stage is one module and one line here; nothing registers itself on import.
"""

from __future__ import annotations

from curate.stages import format, tokenize
from curate.stages.base import BatchStage, GlobalStage, Stage, StageRegistry

REGISTRY: dict[str, Stage] = {
    "format": format.STAGE,
    "tokenize": tokenize.STAGE,
}

__all__ = ["REGISTRY", "BatchStage", "GlobalStage", "Stage", "StageRegistry"]
