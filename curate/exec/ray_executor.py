"""The Ray executor: the pipe loop's task functions as Ray tasks on a cluster (optional extra).

``pip install "curate[ray]"``, then ``curate run RECIPE --executor ray [--address auto]`` or
``execution: {executor: ray, address: auto}`` in the recipe. Only this module imports ray, and
only ``make_executor`` imports this module when a run asks for Ray: a local run never loads it.

What runs where: the driver (the process that runs ``curate run``) plans the steps, walks the
completion markers, and runs each global stage's ``fit`` (dedupe's fit maps its own sub-tasks
back onto the cluster, see ``curate.stages.dedupe.partitioned``). Every per-shard task (read a
piece, summarize, rescan, apply, write output) and every fit sub-task is one Ray task with
``num_cpus=1``, scheduled anywhere in the cluster. Tasks read and write the run directory
themselves, so the run directory (and the inputs, unless they are fsspec URLs) must be at the
same path on every node: shared storage (NFS, Lustre, a FUSE mount of a bucket...).

Fault tolerance: a task whose worker process dies (killed, out of memory, node lost) is retried
by Ray up to ``max_retries`` times; tasks are idempotent (every file is written under a temporary
name and renamed, the completion marker last), so a retry produces the same bytes. Exceptions a
task raises (bad input, a stage error) are not retried: they would fail again. If the driver
dies, ``curate run --resume`` skips every shard whose marker exists, on any executor.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from curate.errors import CurateError, StageError, UsageError

DEFAULT_RETRIES = 3


def import_ray() -> Any:
    """The ray module, or a CurateError that says how to install it."""
    try:
        import ray
    except ImportError:
        raise UsageError(
            'executor "ray" needs Ray: pip install "curate[ray]" (or pip install "ray[default]>=2.20"), '
            "or run with --executor local"
        ) from None
    return ray


def _call(fn: Callable[[Any], Any], task: Any) -> Any:
    """The body of every Ray task: the pipe loop's own task function, unchanged."""
    return fn(task)


class RayExecutor:
    """Maps task functions over Ray tasks; same protocol as ``LocalExecutor``.

    ``address``: None starts a Ray instance on this machine (or joins the cluster of a
    ``ray job submit`` job, whose RAY_ADDRESS is set); ``auto`` joins the cluster started with
    ``ray start`` on this node; ``ray://HOST:PORT`` connects through Ray Client. When Ray is
    already initialized in this process it is used as is (and left running by ``close``).
    ``workers`` caps the tasks in flight (default: the cluster's CPUs).
    """

    def __init__(
        self,
        workers: int | None = None,
        *,
        address: str | None = None,
        max_retries: int = DEFAULT_RETRIES,
        init_options: Mapping[str, Any] | None = None,
    ) -> None:
        ray = self._ray = import_ray()
        self._started = False
        if not ray.is_initialized():
            options: dict[str, Any] = {"include_dashboard": False, "logging_level": "warning"}
            if address is None and "RAY_ADDRESS" not in os.environ and workers:
                options["num_cpus"] = workers  # a new local instance: as many CPUs as workers asked
            options.update(init_options or {})
            try:
                ray.init(address=address, **options)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                raise UsageError(
                    f"cannot connect to the Ray cluster at {address!r}: {exc}; start one with `ray start --head` "
                    "or leave the address unset to start Ray on this machine"
                ) from None
            self._started = True
        cpus = int(ray.cluster_resources().get("CPU", 0)) or 1
        self.workers = max(1, workers or cpus)
        self.max_retries = max_retries
        # One CPU per task, and polars sized to it (as the local executor does per process).
        self._remote = ray.remote(_call).options(
            num_cpus=1,
            max_retries=max_retries,
            retry_exceptions=False,
            runtime_env={"env_vars": {"POLARS_MAX_THREADS": "1"}},
        )

    def map_unordered(self, fn: Callable[[Any], Any], tasks: Sequence[Any]) -> Iterator[Any]:
        """Yield ``fn(task)`` for every task as they finish; at most ``workers`` in flight."""
        ray = self._ray
        todo = list(tasks)
        if not todo:
            return
        fn_ref = ray.put(fn)
        pending: list[Any] = []
        position = 0
        try:
            while pending or position < len(todo):
                while position < len(todo) and len(pending) < self.workers:
                    pending.append(self._remote.remote(fn_ref, todo[position]))
                    position += 1
                done, pending = ray.wait(pending, num_returns=1)
                for ref in done:
                    yield self._result(ref)
        finally:
            for ref in pending:
                ray.cancel(ref)

    def _result(self, ref: Any) -> Any:
        ray = self._ray
        try:
            return ray.get(ref)
        except ray.exceptions.RayTaskError as exc:
            cause = getattr(exc, "cause", None)
            if isinstance(cause, CurateError):
                raise cause from None
            raise StageError(f"a Ray task failed: {type(cause).__name__}: {cause}") from None
        except ray.exceptions.RayError as exc:
            raise StageError(
                f"a Ray task was lost ({type(exc).__name__}) after {self.max_retries} retries: {exc}. Finished "
                "shards are kept: rerun with --resume to continue (a smaller execution.shard_mb if workers "
                "run out of memory)"
            ) from None

    def close(self) -> None:
        if self._started and self._ray.is_initialized():
            self._ray.shutdown()
        self._started = False
