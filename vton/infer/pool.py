"""The try-on worker pool: `workers` threads, each with its own pipeline; bounded admission."""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from vton.infer.errors import ApiError


class WorkerPool:
    """`workers` threads, each running try-ons with its own pipeline; admission is bounded."""

    def __init__(self, pipelines: list, queue_size: int):
        self.pipelines: queue.Queue = queue.Queue()
        for pipe in pipelines:
            self.pipelines.put(pipe)
        self.workers = len(pipelines)
        self.capacity = self.workers + queue_size
        self.executor = ThreadPoolExecutor(self.workers, thread_name_prefix="vton-tryon")
        self._lock = threading.Lock()
        self.in_flight = 0
        self.running = 0
        self.served = 0

    def admit(self) -> None:
        """Reserve a place for one try-on, or raise 503 when the pool and queue are full."""
        with self._lock:
            if self.in_flight >= self.capacity:
                raise ApiError(
                    503,
                    "busy",
                    f"{self.in_flight} try-ons are running or waiting (limit {self.capacity}: "
                    "infer.serve.workers + queue); retry in a moment",
                    {"Retry-After": "1"},
                )
            self.in_flight += 1

    def release(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _call(self, fn: Callable, *args: Any) -> Any:
        pipe = self.pipelines.get()
        with self._lock:
            self.running += 1
        try:
            return fn(pipe, *args)
        finally:
            with self._lock:
                self.running -= 1
                self.served += 1
            self.pipelines.put(pipe)

    async def run(self, fn: Callable, *args: Any) -> Any:
        """Run `fn(pipeline, *args)` on a worker (the caller has admitted it)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self.executor, self._call, fn, *args)

    def submit(self, fn: Callable, *args: Any) -> Future:
        return self.executor.submit(self._call, fn, *args)

    def state(self) -> dict:
        with self._lock:
            return {
                "workers": self.workers,
                "running": self.running,
                "waiting": max(0, self.in_flight - self.running),
                "capacity": self.capacity,
                "served": self.served,
            }

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
        while not self.pipelines.empty():
            self.pipelines.get().close()
