"""Progress of a run: a bar per step on a terminal; elsewhere (logs, CI, nohup) plain lines: one
when a step starts a phase, one at a steady interval while it runs, one when it ends."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from curate.exec.rundir import Step

# Where no bar can be drawn, a step that runs for minutes prints a line at least this often
# (seconds; the environment variable CURATE_PROGRESS_INTERVAL overrides it) ...
PROGRESS_INTERVAL_S = 30.0
# ... and training also each time another tenth of its steps is done.
PROGRESS_MILESTONE = 0.1


def progress_interval() -> float:
    value = os.environ.get("CURATE_PROGRESS_INTERVAL")
    try:
        return float(value) if value else PROGRESS_INTERVAL_S
    except ValueError:
        return PROGRESS_INTERVAL_S


def duration(seconds: float) -> str:
    """1h02m, 3m05s, 42s."""
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m"
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class Ticker:
    """When to print the next plain progress line: once ``interval`` seconds have passed since the
    last one, or (with ``milestone``) once another such share of ``total`` is done."""

    def __init__(
        self,
        total: int,
        *,
        start: int = 0,
        interval: float | None = None,
        milestone: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.total, self.clock = max(1, total), clock
        self.interval = progress_interval() if interval is None else interval
        self.parts = round(1 / milestone) if milestone else 0
        self.started = self.last = clock()
        self.start = start
        self._next_mark = self._mark_after(start)

    def _mark_after(self, done: int) -> int | None:
        """The next milestone, as k of ``parts`` (integers: no rounding drift)."""
        return None if not self.parts else done * self.parts // self.total + 1

    def due(self, done: int) -> bool:
        now = self.clock()
        mark = self._next_mark
        hit_mark = done >= self.total or (mark is not None and done * self.parts >= mark * self.total)
        if hit_mark or now - self.last >= self.interval:
            self.last = now
            self._next_mark = self._mark_after(done)
            return True
        return False

    def elapsed(self) -> float:
        return self.clock() - self.started

    def eta(self, done: int) -> float | None:
        """Seconds left at the rate so far (None before any work)."""
        made = done - self.start
        return None if made <= 0 else self.elapsed() / made * (self.total - done)


class TrainProgress:
    """Training progress: the rich bar on a terminal; elsewhere a line per tick on stderr,
    ``train: step 120/300 (40%)  loss 3.412  5,120 tok/s  elapsed 1m02s  ETA 1m33s``."""

    def __init__(
        self,
        label: str,
        total: int,
        *,
        start: int = 0,
        tokens_per_step: int = 0,
        stream: TextIO | None = None,
        terminal: bool | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.label, self.total, self.start, self.tokens_per_step = label, total, start, tokens_per_step
        self.stream = stream if stream is not None else sys.stderr
        self.terminal = self.stream.isatty() if terminal is None else terminal
        self.ticker = Ticker(total, start=start, milestone=PROGRESS_MILESTONE, clock=clock)
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> TrainProgress:
        if self.terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._bar = Progress(
                TextColumn(self.label),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[status]}"),
            )
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=self.total, completed=self.start, status="")
        else:
            _training.set()
            self._write(f"{self.label}: {self.total - self.start:,} steps to run (of {self.total:,})")
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.stop()
        _training.clear()

    def logged(self, done: int, row: dict[str, Any]) -> None:
        """A logged step (loss and speed known): updates the bar."""
        if self._bar is not None:
            status = f"loss {row['loss']:.3f}  {row['tokens_per_s']:,.0f} tok/s"
            self._bar.update(self._task, completed=done, status=status)

    def step(self, done: int, loss: Callable[[], float]) -> None:
        """Any step: prints a line when one is due (``loss`` is read only then: it syncs)."""
        if self._bar is not None or not self.ticker.due(done):
            return
        elapsed = self.ticker.elapsed()
        rate = (done - self.start) * self.tokens_per_step / elapsed if elapsed > 0 else 0.0
        eta = self.ticker.eta(done)
        self._write(
            f"{self.label}: step {done:,}/{self.total:,} ({done / max(1, self.total):.0%})  loss {loss():.4f}  "
            f"{rate:,.0f} tok/s  elapsed {duration(elapsed)}"
            + ("" if eta is None or done >= self.total else f"  ETA {duration(eta)}")
        )

    def _write(self, line: str) -> None:
        self.stream.write(line + "\n")
        self.stream.flush()


_training = threading.Event()  # set while a TrainProgress prints training's own lines


class StepProgress:
    """A bar per step on a terminal. Elsewhere: a line when a step enters a phase (fit, training...),
    a line every ``progress_interval()`` seconds while a step runs (from a heartbeat thread, so a
    step blocked in one long call such as tokenizer training is heard from too), and a line when
    it ends."""

    def __init__(
        self, *, enabled: bool = True, console: Console | None = None, interval: float | None = None
    ) -> None:
        self.enabled = enabled
        self.console = console or Console(stderr=True)
        self.live = enabled and self.console.is_terminal
        self.interval = progress_interval() if interval is None else interval
        self._progress: Progress | None = None
        self._tasks: dict[str, TaskID] = {}
        self._records: dict[str, int] = {}
        self._lock = threading.Lock()
        self._current: dict[str, Any] | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

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
        elif self.enabled and self.interval > 0:
            self._thread = threading.Thread(target=self._beat, name="curate-progress", daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self._progress.stop()
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _beat(self) -> None:
        while not self._stop.wait(self.interval):
            line = self.heartbeat()
            if line is not None and not _training.is_set():
                self._print(line)

    def heartbeat(self) -> str | None:
        """The line that says where the running step is (None when no step runs)."""
        with self._lock:
            current = None if self._current is None else dict(self._current)
        if current is None:
            return None
        phase = f" ({current['phase']})" if current["phase"] else ""
        parts = [f"{current['dir'] + phase:<22}"]
        if current["total"]:
            parts.append(f"{current['done']:,}/{current['total']:,} {current['unit']}")
        if self._records.get(current["dir"]):
            parts.append(f"{self._records[current['dir']]:,} records")
        parts.append(f"running for {duration(time.monotonic() - current['started'])}")
        return "  ".join(parts)

    def _print(self, line: str) -> None:
        self.console.print(line, highlight=False, markup=False, soft_wrap=True)

    def _track(self, step: Step, **fields: Any) -> None:
        with self._lock:
            if self._current is None or self._current["dir"] != step.dirname:
                self._current = {
                    "dir": step.dirname,
                    "phase": None,
                    "done": 0,
                    "total": 0,
                    "unit": "",
                    "started": time.monotonic(),
                }
            self._current.update(fields)

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
        self._track(step, phase=phase, done=completed, total=total, unit=unit)
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
        with self._lock:
            if self._current is not None and self._current["dir"] == step.dirname:
                self._current["done"] += 1
        if self._progress is not None and step.dirname in self._tasks:
            self._progress.update(self._tasks[step.dirname], advance=1, records=self._records[step.dirname])

    def note(self, step: Step, phase: str) -> None:
        """The step enters a phase that may take long in one call (fit, finalize, training)."""
        self._track(step, phase=phase, done=0, total=0, unit="")
        if self._progress is not None and step.dirname in self._tasks:
            self._progress.update(self._tasks[step.dirname], description=f"{step.dirname} ({phase})")
        elif self.enabled and not self.live:
            self._print(f"{step.dirname + ' (' + phase + ')':<22} ...")

    def finished(self, step: Step, stats: dict[str, Any]) -> None:
        with self._lock:
            self._current = None
        if self._progress is not None and step.dirname in self._tasks:
            self._progress.update(self._tasks[step.dirname], description=step.dirname)
        elif self.enabled:
            r = stats["records"]
            self._print(f"{step.dirname:<22} {r['in']:>10,} in {r['out']:>10,} out  {stats['seconds']:.1f}s")

    def cached(self, step: Step, stats: dict[str, Any]) -> None:
        if self.enabled:
            r = stats["records"]
            self._print(f"{step.dirname:<22} {r['in']:>10,} in {r['out']:>10,} out  (cached)")
