"""Batch jobs of the API: their pairs, status and results, each in a temporary folder."""

from __future__ import annotations

import re
import shutil
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path

from vton.infer.errors import ApiError

_JOB_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass
class Job:
    id: str
    folder: Path
    fmt: str
    quality: int
    pairs: list[tuple[str, str]]  # sanitised (person, garment) names
    status: str = "queued"
    created: float = field(default_factory=time.time)
    results: list[dict] = field(default_factory=list)

    def summary(self) -> dict:
        done = [r for r in self.results if "url" in r]
        return {
            "job": self.id,
            "status": self.status,
            "total": len(self.pairs),
            "finished": len(self.results),
            "written": len(done),
            "failed": len(self.results) - len(done),
            "results": self.results,
        }


class Jobs:
    """Batch jobs by id; the oldest finished ones (and their folders) go beyond `kept`."""

    def __init__(self, kept: int):
        self.kept = kept
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, job: Job) -> None:
        with self._lock:
            self._jobs[job.id] = job
            finished = [j for j in self._jobs.values() if j.status in ("done", "failed")]
            for old in finished[: max(0, len(self._jobs) - self.kept)]:
                self._jobs.pop(old.id)
                shutil.rmtree(old.folder, ignore_errors=True)

    def get(self, job_id: str) -> Job:
        if not _JOB_ID.match(job_id):
            raise ApiError(404, "no_such_job", f"{job_id!r} is not a job id (32 hex digits)")
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise ApiError(
                404, "no_such_job", f"no job {job_id} (finished jobs are kept {self.kept} deep)"
            )
        return job

    def active(self) -> int:
        with self._lock:
            return sum(j.status in ("queued", "running") for j in self._jobs.values())

    def close(self) -> None:
        with self._lock:
            for job in self._jobs.values():
                shutil.rmtree(job.folder, ignore_errors=True)
            self._jobs.clear()
