"""Executors only schedule: they map a picklable task function over tasks.

The pipe loop (curate.exec.pipe) is the one place that knows about stages, shards and markers;
an executor is handed ``fn`` and a list of tasks and yields ``fn(task)`` results as they finish.
``LocalExecutor`` runs in this process (workers=1) or in a spawn-based process pool; the Ray
executor (``curate.exec.ray_executor``, optional extra) implements the same two methods over Ray
tasks. ``make_executor`` picks one from the recipe's ``execution`` settings; it imports the Ray
module only when Ray is asked for, so a local run never imports ray.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from curate.recipe import Execution


class Executor(Protocol):
    workers: int

    def map_unordered(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[Any]: ...

    def close(self) -> None: ...


def _die_with_parent(parent: int) -> None:
    """Worker initializer: on Linux, the kernel kills this worker when its parent dies (even by
    SIGKILL or the OOM killer), so no orphaned worker goes on computing for minutes."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes
    import signal

    PR_SET_PDEATHSIG = 1
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # no prctl: workers still exit when their queues close
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


class LocalExecutor:
    """Process-pool executor; ``workers=1`` runs tasks inline (no pickling, easy debugging)."""

    def __init__(self, workers: int | None = None) -> None:
        self.workers = max(1, workers or os.cpu_count() or 1)
        self._pool: ProcessPoolExecutor | None = None

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            # Children inherit the environment at spawn time: give each a fair share of polars'
            # threads (this process imported polars already, so it is not affected).
            threads = str(max(1, (os.cpu_count() or 1) // self.workers))
            os.environ.setdefault("POLARS_MAX_THREADS", threads)
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers,
                mp_context=get_context("spawn"),
                initializer=_die_with_parent,
                initargs=(os.getpid(),),
            )
        return self._pool

    def map_unordered(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[Any]:
        if self.workers == 1 or len(tasks) <= 1:
            for task in tasks:
                yield fn(task)
            return
        pool = self._ensure_pool()
        pending: set[Future] = {pool.submit(fn, task) for task in tasks}
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield future.result()
        except BrokenProcessPool:
            self._pool = None
            from curate.errors import StageError

            raise StageError(
                "a worker process died (killed, or out of memory?); finished shards are kept: "
                "rerun with --resume to continue, with fewer --workers or a smaller execution.shard_mb if memory is short"
            ) from None
        finally:
            for future in pending:
                future.cancel()

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


def make_executor(execution: Execution, *, workers: int | None = None) -> Executor:
    """The executor a recipe's ``execution`` settings ask for (``workers`` overrides theirs)."""
    workers = workers or execution.workers
    if execution.executor == "ray":
        from curate.exec.ray_executor import RayExecutor

        return RayExecutor(workers, address=execution.address, max_retries=execution.max_retries)
    return LocalExecutor(workers)
