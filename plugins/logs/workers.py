"""Running scan work in this process or in a pool of worker processes.

A pool costs a fork and some pickling, so it is started only when there is
enough data (:data:`PARALLEL_MIN` bytes) and more than one job allowed; the
same pool then also counts the line numbers of the kept samples.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from types import TracebackType
from typing import Any

PARALLEL_MIN = 32 << 20
"""Below this many bytes in all, files are scanned in this process (no start-up cost)."""


class Runner:
    """Maps a function over work items, in parallel when it pays (a context manager)."""

    def __init__(self, jobs: int, total_bytes: int, items: int) -> None:
        self.workers = min(max(1, jobs), items, os.cpu_count() or 1)
        self.parallel = self.workers >= 2 and total_bytes >= PARALLEL_MIN
        self.pool: Executor | None = None

    def __enter__(self) -> Runner:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.pool is not None:
            self.pool.shutdown()

    def map(self, fn: Callable[[Any], Any], items: Sequence[Any], weights: Sequence[int] | None = None) -> list[Any]:
        """``[fn(item) for item in items]``, heaviest items first across the workers."""
        if not self.parallel or len(items) < 2:
            return [fn(i) for i in items]
        if self.pool is None:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            # fork is cheapest, but only safe while this process runs no other thread
            single = threading.active_count() == 1
            method = "fork" if single and "fork" in multiprocessing.get_all_start_methods() else "spawn"
            self.pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context(method))
        order = sorted(range(len(items)), key=lambda k: -(weights[k] if weights else 0))
        chunk = max(1, len(items) // (self.workers * 64))  # small chunks: the last ones balance the cores
        done = list(self.pool.map(fn, [items[k] for k in order], chunksize=chunk))
        out: list[Any] = [None] * len(items)
        for k, r in zip(order, done, strict=True):
            out[k] = r
        return out
