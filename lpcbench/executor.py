"""Run independent jobs (training runs, bench runs) in this process or as Ray tasks.

Both executors map a module-level function over a list of items and return one ``Outcome`` per item,
in order. A job that raises is recorded with its error, and the others go on. Ray is an optional
extra (``pip install lpcbench[ray]``).
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_S = 5.0  # for the reachability check of a Ray address
SHARED_CHECK_TIMEOUT_S = 120.0  # for the shared-folder check on every node
DEFAULT_MAX_RETRIES = 3  # Ray retries of a task whose worker died


@dataclass(frozen=True)
class Outcome:
    """The result of one job, or its error message."""

    value: Any = None
    error: str | None = None


class LocalExecutor:
    """Run jobs one after another in this process."""

    name = "local"
    address = None

    def map(self, function: Callable, items: list, *, on_done: Callable[[int, Outcome], None] | None = None) -> list[Outcome]:
        outcomes = []
        for index, item in enumerate(items):
            try:
                outcome = Outcome(value=function(item))
            except Exception as error:  # A failing job must not stop the others, so its error is recorded.
                logger.error("job %d failed: %s: %s", index, type(error).__name__, error)
                outcome = Outcome(error=f"{type(error).__name__}: {error}")
            outcomes.append(outcome)
            if on_done:
                on_done(index, outcome)
        return outcomes

    def close(self) -> None:
        pass


class RayExecutor:
    """Run every job as a Ray task on a local Ray instance or an existing cluster.

    With no ``address``, Ray starts on this machine (``num_cpus`` caps it) and stops at ``close()``.
    With one, the executor joins that cluster. Tasks whose worker dies are retried ``max_retries``
    times; an exception raised by the job itself is not retried, since it would raise again.
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        *,
        cpus_per_task: float = 1,
        gpus_per_task: float = 0,
        max_retries: int = DEFAULT_MAX_RETRIES,
        num_cpus: int | None = None,
        unit: str = "run",
    ) -> None:
        ray = import_ray()
        check_ray_options(cpus_per_task, gpus_per_task, max_retries)
        self.address = address
        self.options = {"num_cpus": cpus_per_task, "num_gpus": gpus_per_task, "max_retries": max_retries, "retry_exceptions": False}
        if address:
            check_reachable(address)
        self._started_here = not ray.is_initialized()
        if self._started_here:
            try:
                if address:
                    ray.init(address=address, include_dashboard=False, log_to_driver=True)
                else:
                    # "local" starts a new instance even where a 'ray start' cluster already runs.
                    ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, log_to_driver=True)
            except (ConnectionError, RuntimeError) as error:
                hint = ""
                if address and "RAY_AUTH_MODE" not in os.environ:
                    hint = (
                        "; if the cluster uses token authentication, set RAY_AUTH_MODE=token and its token in "
                        "RAY_AUTH_TOKEN (or RAY_AUTH_TOKEN_PATH) on this machine"
                    )
                raise ValueError(f"cannot connect to Ray at {address or 'a new local instance'}: {error}{hint}") from None
        self._check_fits(unit)

    def _check_fits(self, unit: str) -> None:
        """Raise ``ValueError`` when no alive node has the CPUs or GPUs one task requests, since it would wait forever."""
        import ray

        nodes = [node.get("Resources", {}) for node in ray.nodes() if node.get("Alive")]
        for resource, option in (("CPU", "--cpus-per-run"), ("GPU", "--gpus-per-run")):
            requested = self.options[f"num_{resource.lower()}s"]
            largest = max((float(node.get(resource, 0)) for node in nodes), default=0.0)
            if requested > largest:
                raise ValueError(
                    f"each {unit} requests {requested:g} {resource}(s) but the largest Ray node has {largest:g}: "
                    f"lower {option} or add larger nodes"
                )

    def check_shared_folder(self, folder: Path) -> None:
        """Raise ``ValueError`` unless a marker file written in ``folder`` is visible from every alive node."""
        import ray
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        folder = Path(folder).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        marker = folder / f".lpcbench-shared-check-{uuid.uuid4().hex}"
        marker.write_text("lpcbench checks that every Ray node sees this folder\n", encoding="utf-8")
        try:
            nodes = [node for node in ray.nodes() if node.get("Alive")]
            probe = ray.remote(num_cpus=0)(_sees_file)
            refs = [probe.options(scheduling_strategy=NodeAffinitySchedulingStrategy(node["NodeID"], soft=False)).remote(str(marker)) for node in nodes]
            try:
                answers = ray.get(refs, timeout=SHARED_CHECK_TIMEOUT_S)
            except ray.exceptions.GetTimeoutError:
                raise ValueError(f"the shared-folder check did not finish within {SHARED_CHECK_TIMEOUT_S:.0f} s on every Ray node") from None
        finally:
            marker.unlink(missing_ok=True)
        blind = [f"{node.get('NodeManagerAddress')} ({host})" for node, (host, seen) in zip(nodes, answers) if not seen]
        if blind:
            raise ValueError(
                f"--zoo-dir {folder} is not visible from Ray node(s) {', '.join(blind)}: every node writes runs there, so "
                "it must be a shared file system (NFS, Lustre, a mounted bucket) at the same path on every node"
            )

    def map(self, function: Callable, items: list, *, on_done: Callable[[int, Outcome], None] | None = None) -> list[Outcome]:
        import ray

        remote = ray.remote(**self.options)(function)
        refs = [remote.remote(item) for item in items]
        index_of = {ref: index for index, ref in enumerate(refs)}
        outcomes: list[Outcome | None] = [None] * len(refs)
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            index = index_of[done[0]]
            try:
                outcome = Outcome(value=ray.get(done[0]))
            except ray.exceptions.RayTaskError as error:  # the job raised: keep its own exception's text
                cause = error.cause if getattr(error, "cause", None) is not None else error
                outcome = Outcome(error=f"{type(cause).__name__}: {cause}")
            except ray.exceptions.RayError as error:  # the worker or node died on every retry
                outcome = Outcome(error=f"{type(error).__name__}: {error}")
            if outcome.error:
                logger.error("job %d failed: %s", index, outcome.error)
            outcomes[index] = outcome
            if on_done:
                on_done(index, outcome)
        return outcomes

    def close(self) -> None:
        import ray

        if self._started_here:
            ray.shutdown()


def make_executor(name: str, *, address: str | None = None, gpus_per_task: float | None = None, device: str = "auto", **options):
    """Return the executor ``local`` or ``ray``; GPUs per task default to 1 with ``device`` cuda, else 0."""
    if name == "local":
        if address or gpus_per_task:
            raise ValueError("--ray-address and --gpus-per-run apply only with --executor ray")
        return LocalExecutor()
    if name != "ray":
        raise ValueError(f"unknown executor {name!r}: expected local or ray")
    if gpus_per_task is None:
        gpus_per_task = default_gpus(device)
    return RayExecutor(address, gpus_per_task=gpus_per_task, **options)


def default_gpus(device: str) -> int:
    return 1 if device.startswith("cuda") else 0


def check_ray_options(cpus_per_task: float, gpus_per_task: float, max_retries: int) -> None:
    """Raise ``ValueError`` naming the command-line option of a resource or retry count out of range."""
    if cpus_per_task <= 0:
        raise ValueError(f"--cpus-per-run must be positive, got {cpus_per_task:g}")
    if gpus_per_task < 0:
        raise ValueError(f"--gpus-per-run must be 0 or more, got {gpus_per_task:g}")
    if max_retries < 0:
        raise ValueError(f"--max-retries must be 0 or more, got {max_retries}")


def import_ray():
    try:
        import ray
    except ImportError:
        raise ImportError("--executor ray needs Ray, an optional extra: pip install 'lpcbench[ray]' (or pip install ray)") from None
    return ray


def check_reachable(address: str, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Raise ``ValueError`` within ``timeout`` seconds when nothing listens at a ``host:port`` or ``ray://host:port`` address."""
    if address == "auto":
        return  # ray.init finds the running local cluster, or raises at once
    host_port = address.removeprefix("ray://")
    host, _, port = host_port.rpartition(":")
    if "://" in host_port or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"invalid Ray address {address!r}: expected HOST:PORT, ray://HOST:PORT or auto, with a port from 1 to 65535")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout):
            pass
    except OSError as error:
        raise ValueError(
            f"the Ray address {address} is not reachable ({error.__class__.__name__}: {error}); start the cluster "
            "('ray start --head' on the head node) or correct --ray-address"
        ) from None


def _sees_file(path: str) -> tuple[str, bool]:
    return socket.gethostname(), os.path.exists(path)
