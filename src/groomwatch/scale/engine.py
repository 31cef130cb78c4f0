"""Batch scanning on a dask.distributed cluster (``groomwatch scan --engine dask``).

Conversations are cut into batches of ``batch_size``; each batch is a task. Every worker process
loads the detector once (the first batch it runs loads it; later batches reuse it) and assesses
its batch with :meth:`Detector.assess_many`, the same code the local engine runs, so both engines
give equal results. At most ``max_in_flight`` batches are submitted and not yet collected: the
input is read no faster than the cluster works (backpressure), so memory stays bounded on inputs
of any size. Results are yielded in input order.

``distributed`` is an optional extra (``pip install groomwatch[scale]``); it is imported when a
scan starts, never at import time.
"""

from __future__ import annotations

import importlib
import logging
import threading
from collections.abc import Generator, Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

from groomwatch.conversation import Conversation
from groomwatch.detect.parallel import in_order
from groomwatch.errors import InputError

if TYPE_CHECKING:
    from groomwatch.detect import AlertPolicy, Assessment, Detector

__all__ = ["scan_with_dask"]

log = logging.getLogger(__name__)

# One detector per worker process, keyed by where it was loaded from.
_DETECTORS: dict[tuple[str | None, str | None], Detector] = {}
_LOAD_LOCK = threading.Lock()


def _detector(model_path: str | None, cues_path: str | None) -> Detector:
    key = (model_path, cues_path)
    detector = _DETECTORS.get(key)
    if detector is None:
        with _LOAD_LOCK:
            detector = _DETECTORS.get(key)
            if detector is None:
                from groomwatch.detect import Detector

                detector = Detector.load(
                    model_path=Path(model_path) if model_path is not None else None,
                    cues_path=Path(cues_path) if cues_path is not None else None,
                )
                _DETECTORS[key] = detector
    return detector


def assess_batch(
    batch: list[Conversation],
    model_path: str | None,
    cues_path: str | None,
    policy: AlertPolicy | None,
) -> list[Assessment]:
    """The task each worker runs: assess one batch with the worker's detector."""
    detector = _detector(model_path, cues_path)
    return list(detector.assess_many(batch, policy))


def scan_with_dask(
    conversations: Iterable[Conversation],
    *,
    model_path: str | Path | None = None,
    cues_path: str | Path | None = None,
    policy: AlertPolicy | None = None,
    scheduler: str | None = None,
    batch_size: int = 256,
    n_workers: int = 2,
    max_in_flight: int | None = None,
    connect_timeout: float = 20.0,
) -> Iterator[Assessment]:
    """Assess conversations on a dask cluster; yields one :class:`Assessment` per conversation,
    in input order.

    ``scheduler`` is the address of a running scheduler (``tcp://host:8786``); without it a
    :class:`~distributed.LocalCluster` of ``n_workers`` single-threaded worker processes is
    started for the scan and stopped after it. ``max_in_flight`` bounds the batches submitted
    and not yet yielded (default: twice the cluster's threads); ``connect_timeout`` is how many
    seconds to wait for a remote scheduler.
    """
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InputError(f"batch size must be a whole number >= 1, not {batch_size!r}")
    if isinstance(n_workers, bool) or not isinstance(n_workers, int) or n_workers < 1:
        raise InputError(f"the number of workers must be >= 1, not {n_workers!r}")
    if max_in_flight is not None and max_in_flight < 1:
        raise InputError(f"max_in_flight must be >= 1, not {max_in_flight!r}")
    model = str(model_path) if model_path is not None else None
    cues = str(cues_path) if cues_path is not None else None
    if model is not None and not Path(model).exists() and scheduler is None:
        raise InputError(f"{model}: no such model")
    return _scan(
        conversations,
        model,
        cues,
        policy,
        scheduler,
        batch_size,
        n_workers,
        max_in_flight,
        connect_timeout,
    )


def _scan(
    conversations: Iterable[Conversation],
    model: str | None,
    cues: str | None,
    policy: AlertPolicy | None,
    scheduler: str | None,
    batch_size: int,
    n_workers: int,
    max_in_flight: int | None,
    connect_timeout: float,
) -> Iterator[Assessment]:
    try:
        # distributed is only partly typed; it is used through an untyped handle.
        distributed: Any = importlib.import_module("distributed")
    except ImportError:  # pragma: no cover - depends on the install
        raise InputError(
            "the dask engine needs the 'scale' extra: pip install 'groomwatch[scale]'"
        ) from None

    cluster: Any = None
    if scheduler is None:
        cluster = distributed.LocalCluster(
            n_workers=n_workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=logging.ERROR,
        )
        client = distributed.Client(cluster)
    else:
        try:
            client = distributed.Client(scheduler, timeout=connect_timeout)
        except (OSError, TimeoutError, ValueError) as exc:
            raise InputError(f"cannot reach the dask scheduler at {scheduler}: {exc}") from None
    futures: Generator[Any, None, None] | None = None
    try:
        threads = sum(client.nthreads().values()) or n_workers
        limit = max_in_flight or 2 * threads
        batches = _batches(conversations, batch_size)
        futures = in_order(
            batches,
            lambda b: client.submit(assess_batch, b, model, cues, policy, pure=False),
            limit,
        )
        for future in futures:
            results = future.result()
            future.release()
            yield from results
    finally:
        if futures is not None:
            futures.close()  # cancels the batches still in flight
        client.close()
        if cluster is not None:
            cluster.close()


def _batches(conversations: Iterable[Conversation], size: int) -> Iterator[list[Conversation]]:
    it = iter(conversations)
    while batch := list(islice(it, size)):
        yield batch
