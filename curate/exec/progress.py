"""Progress of a run: a bar per step on a terminal, one line per step elsewhere (logs, CI)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from curate.exec.rundir import Step


class StepProgress:
    def __init__(self, *, enabled: bool = True, console: Console | None = None) -> None:
        self.enabled = enabled
        self.console = console or Console(stderr=True)
        self.live = enabled and self.console.is_terminal
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}
        self._records: dict[str, int] = {}

    def __enter__(self) -> StepProgress:
        if self.live:
            self._progress = Progress(
                TextColumn("{task.description:<22}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[unit]}"),
                TextColumn("{task.fields[records]:>10,} records"),
                TimeElapsedColumn(),
                console=self.console,
            )
            self._progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self._progress.stop()

    def start(
        self,
        step: Step,
        *,
        total: int,
        completed: int,
        unit: str,
        size: int | None = None,
        phase: str | None = None,
    ) -> None:
        label = step.dirname + (f" ({phase})" if phase else "")
        self._records.setdefault(step.dirname, 0)
        if self._progress is not None:
            if step.dirname in self._tasks:
                self._progress.update(
                    self._tasks[step.dirname], description=label, total=total, completed=completed, unit=unit
                )
            else:
                self._tasks[step.dirname] = self._progress.add_task(
                    label, total=total, completed=completed, unit=unit, records=0
                )

    def advance(self, step: Step, marker: dict[str, Any]) -> None:
        self._records[step.dirname] = self._records.get(step.dirname, 0) + int(marker.get("in", 0) or 0)
        if self._progress is not None and step.dirname in self._tasks:
            self._progress.update(self._tasks[step.dirname], advance=1, records=self._records[step.dirname])

    def note(self, step: Step, phase: str) -> None:
        if self._progress is not None and step.dirname in self._tasks:
            self._progress.update(self._tasks[step.dirname], description=f"{step.dirname} ({phase})")

    def finished(self, step: Step, stats: dict[str, Any]) -> None:
        if self._progress is not None and step.dirname in self._tasks:
            self._progress.update(self._tasks[step.dirname], description=step.dirname)
        elif self.enabled:
            r = stats["records"]
            self.console.print(
                f"{step.dirname:<22} {r['in']:>10,} in {r['out']:>10,} out  {stats['seconds']:.1f}s"
            )

    def cached(self, step: Step, stats: dict[str, Any]) -> None:
        if self.enabled:
            r = stats["records"]
            self.console.print(f"{step.dirname:<22} {r['in']:>10,} in {r['out']:>10,} out  (cached)")
