"""The training loop shared by both models: data, DDP, AMP, checkpoints, DVCLive, previews."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from pathlib import Path
from typing import Any, cast

import torch
from torch.utils.data import DataLoader

from vton.fileio import atomic_path
from vton.formats.images import write_png
from vton.layout import Layout
from vton.models.blocks import ConfigModule
from vton.train.data import StepBatches, TryOnDataset
from vton.train.runtime import Runtime
from vton.train.tasks import Task

CHECKPOINT = "last.pt"


@dataclasses.dataclass(frozen=True)
class Schedule:
    steps: int
    batch_size: int
    log_every: int
    sample_every: int
    checkpoint_every: int


# Params that only say how long or how often: changing them keeps a checkpoint valid.
SCHEDULE_KEYS = ("steps", "log_every", "sample_every", "checkpoint_every")


def dataset_digest(root: Path, split: str = "train") -> str:
    """A cheap identity of a split's files: the pairs, and every file's name and size."""
    layout, h = Layout(root), hashlib.sha256()
    h.update(layout.pairs_path(split).read_bytes())
    folder = Path(root) / split
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            h.update(f"{path.relative_to(folder)}:{path.stat().st_size}\n".encode())
    return h.hexdigest()


def fingerprint(**parts) -> str:
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _atomic_torch_save(obj: dict, path: Path) -> None:
    with atomic_path(path) as tmp:
        torch.save(obj, tmp)


@dataclasses.dataclass
class Resumed:
    """What a checkpoint brings besides the weights: the step, every logged row, and the
    preview of its last step (a finished run re-run by DVC rewrites its outputs from these)."""

    step: int = 0
    history: list = dataclasses.field(default_factory=list)  # [(step, {name: mean})]
    preview: Any = None  # (H, W, 3) uint8 of the checkpoint's step, or None
    timings: dict = dataclasses.field(default_factory=dict)  # of the run that wrote it


def load_checkpoint(task: Task, path: Path, expected: str) -> Resumed:
    """Load nets and optimisers from `path` when its fingerprint matches; what to resume."""
    if not path.is_file():
        return Resumed()
    state = torch.load(path, map_location="cpu", weights_only=True)
    if state.get("fingerprint") != expected:
        print(f"note: {path} belongs to another configuration or dataset; starting afresh")
        return Resumed()
    for name, net in task.nets.items():
        net.load_state_dict(state["nets"][name])
    for name, opt in task.optimizers.items():
        opt.load_state_dict(state["optimizers"][name])
    task.scaler_state = state.get("scaler")
    task.load_extra_state(state.get("extra") or {})
    history = [(int(step), dict(row)) for step, row in state.get("history", [])]
    preview = state.get("preview")
    return Resumed(
        int(state["step"]),
        history,
        None if preview is None else preview.numpy(),
        dict(state.get("timings") or {}),
    )


def save_checkpoint(
    task: Task,
    path: Path,
    step: int,
    fp: str,
    history: list,
    preview: Any = None,
    timings: dict | None = None,
) -> None:
    _atomic_torch_save(
        {
            "step": step,
            "fingerprint": fp,
            "nets": {n: net.state_dict() for n, net in task.nets.items()},
            "optimizers": {n: o.state_dict() for n, o in task.optimizers.items()},
            "scaler": task.scaler.state_dict(),
            "extra": task.extra_state(),
            "history": history,
            "preview": None if preview is None else torch.from_numpy(preview),
            "timings": timings or {},
        },
        path,
    )


def _live(directory: Path, resume: bool):
    """DVCLive writing metrics.json and plots/metrics/*.tsv into `directory`, nothing else.

    The DVC pipeline declares and tracks these files itself (dvc.yaml), so DVCLive's own
    repository integration is skipped: in dvclive 3.49 it fails in a Git repository
    without commits and runs `dvc init` in a Git repository without DVC.
    """
    from dvclive import Live

    class StageLive(Live):
        def _init_dvc(self) -> None:
            pass

    return StageLive(str(directory), resume=resume, save_dvc_exp=False, dvcyaml=False)


def fit(
    task: Task,
    runtime: Runtime,
    dataset: TryOnDataset,
    schedule: Schedule,
    seed: int,
    fp: str,
    *,
    loader_workers: int = 0,
    out: Path,
    checkpoints: Path | None = None,
    live_dir: Path | None = None,
    samples_dir: Path | None = None,
) -> dict:
    """Train `task` to `schedule.steps`, resuming from `checkpoints/<fp>/last.pt` if there.

    Rank 0 writes the checkpoints, DVCLive metrics and plots (`live_dir`), preview grids
    (`samples_dir/step_N.png`) and finally the exported model (`out`, config.json beside the
    weights). Returns the summary that also goes into DVCLive's metrics.json.
    """
    for name in ("batch_size", "log_every", "checkpoint_every"):
        if getattr(schedule, name) <= 0:
            raise ValueError(f"{name} must be positive, got {getattr(schedule, name)}")
    ckpt = checkpoints / fp / CHECKPOINT if checkpoints else None
    resumed = _prepare(task, runtime, ckpt, fp)
    start = resumed.step
    batches = StepBatches(
        len(dataset), schedule.batch_size, seed, start, schedule.steps, runtime.rank, runtime.world
    )
    loader = _loader(dataset, batches, seed, loader_workers, runtime)
    live = None
    if runtime.main and live_dir is not None:
        # DVC removes a stage's outputs before it runs it: then the rows logged before the
        # checkpoint are written again from it, so the plots still start at step 1.
        kept = (live_dir / "metrics.json").is_file()
        live = _live(live_dir, resume=start > 0 and kept)
        if start and not kept:
            _replay(live, resumed.history)
    if runtime.main and start:
        print(f"resuming from {ckpt} at step {start} of {schedule.steps}")
    run = _Run(task, runtime, schedule, fp, ckpt, live, samples_dir, start)
    run.history, run.resumed_timings = list(resumed.history), resumed.timings
    if resumed.history:
        run.last = dict(resumed.history[-1][1])
    run.train(loader)
    finished = start >= schedule.steps and resumed.preview is not None
    if finished and runtime.main and samples_dir is not None:  # nothing left to train
        write_png(samples_dir / f"step_{start:06d}.png", resumed.preview)
    summary = run.summary()
    if runtime.main:
        cast(ConfigModule, task.exported()).save_pretrained(out)
        if live is not None:
            live.summary.update({k: v for k, v in summary.items() if k != "step"})
            live.make_summary()
            live.end()
    runtime.barrier()
    return summary


def _prepare(task: Task, runtime: Runtime, ckpt: Path | None, fp: str) -> Resumed:
    """Put the nets on the device, load a matching checkpoint, set up the task; what to
    resume from."""
    for net in task.nets.values():  # on the device first: optimiser state follows the params
        net.to(runtime.device)
    resumed = load_checkpoint(task, ckpt, fp) if ckpt else Resumed()
    task.setup(runtime)
    if task.scaler_state:
        task.scaler.load_state_dict(task.scaler_state)
    return resumed


def _replay(live, history: list) -> None:
    for step, row in history:
        live.step = step
        for k, v in row.items():
            live.log_metric(f"train_{k}", v)
    if history:
        live.make_summary()


def _loader(
    dataset: TryOnDataset, batches: StepBatches, seed: int, workers: int, runtime: Runtime
) -> DataLoader:
    # Every random choice of data loading comes from the (index, seed) pairs of `batches`,
    # so a sample is the same whichever worker (or the trainer itself) loads it. The loader's
    # own generator only seeds the workers' global RNGs, which nothing here reads; a
    # dedicated one keeps the loader from drawing on torch's global RNG.
    return DataLoader(
        dataset,
        batch_sampler=batches,
        num_workers=workers,
        pin_memory=runtime.device.type == "cuda",
        persistent_workers=False,
        prefetch_factor=4 if workers else None,
        generator=torch.Generator().manual_seed(seed),
        # Workers start from a clean server process, not a fork of this one: a fork copies
        # whatever threads and exit handlers the caller's process holds (a test session, a
        # notebook, a flow), and a worker that inherits them can die at shutdown.
        multiprocessing_context="forkserver" if workers else None,
    )


@dataclasses.dataclass
class _Run:
    """The steps of one `fit`: the running loss means, what is written when, and the clock."""

    task: Task
    runtime: Runtime
    schedule: Schedule
    fp: str
    ckpt: Path | None
    live: Any
    samples_dir: Path | None
    start: int
    step: int = 0
    sums: dict[str, float] = dataclasses.field(default_factory=dict)
    last: dict[str, float] = dataclasses.field(default_factory=dict)
    counted: int = 0
    history: list = dataclasses.field(default_factory=list)  # every logged (step, means)
    resumed_timings: dict = dataclasses.field(default_factory=dict)
    began: float = 0.0
    wait: float = 0.0
    compute: float = 0.0
    startup: float = 0.0
    seconds: float = 0.0

    def train(self, loader: DataLoader) -> None:
        self.step = self.start
        self.began = began = tick = time.perf_counter()
        for batch in loader:
            fetched = time.perf_counter()
            if self.step == self.start:  # the first batch waits for the workers: counted apart
                self.startup = fetched - tick
            else:
                self.wait += fetched - tick
            values = self.task.step(batch)
            self.step += 1
            for k, v in values.items():
                self.sums[k] = self.sums.get(k, 0.0) + v
            self.counted += 1
            self._log()
            self._write()
            tick = time.perf_counter()
            self.compute += tick - fetched
        self.seconds = time.perf_counter() - began

    def _log(self) -> None:
        """Every `log_every` steps and at the end: the mean losses over all ranks, to DVCLive."""
        step, schedule = self.step, self.schedule
        if step % schedule.log_every == 0 or step == schedule.steps:
            self.last = self.runtime.mean({k: v / self.counted for k, v in self.sums.items()})
            self.sums, self.counted = {}, 0
            self.history.append((step, dict(self.last)))
            if self.live is not None:
                self.live.step = step
                for k, v in self.last.items():
                    self.live.log_metric(f"train_{k}", v)
                self.live.make_summary()

    def _write(self) -> None:
        """A preview every `sample_every` steps, a checkpoint every `checkpoint_every`, and
        both at the end."""
        step, schedule, runtime = self.step, self.schedule, self.runtime
        final = step == schedule.steps
        sample = self.samples_dir is not None and (
            (schedule.sample_every and step % schedule.sample_every == 0) or final
        )
        keep = final and self.ckpt is not None  # a finished checkpoint keeps its preview
        preview = self.task.preview() if runtime.main and (sample or keep) else None
        if preview is not None and sample:
            assert self.samples_dir is not None
            write_png(self.samples_dir / f"step_{step:06d}.png", preview)
        if self.ckpt is not None and (step % schedule.checkpoint_every == 0 or final):
            if runtime.main:
                timings = self.timings(time.perf_counter() - self.began) if final else None
                save_checkpoint(self.task, self.ckpt, step, self.fp, self.history, preview, timings)
            runtime.barrier()

    def timings(self, seconds: float) -> dict:
        """The clock of this run's steps, `seconds` after the first batch was asked for; a
        run with nothing left to train reports those of the run that finished it."""
        steps_run, busy = self.step - self.start, self.wait + self.compute
        if not steps_run and self.resumed_timings:
            return dict(self.resumed_timings)
        return {
            "seconds": round(seconds, 3),
            # Of the run after the first batch arrived (worker start-up is startup_seconds).
            "samples_per_s": (
                round(steps_run * self.schedule.batch_size / (seconds - self.startup), 3)
                if steps_run and seconds > self.startup
                else 0.0
            ),
            # Of the steady state: the time after the first batch arrived.
            "data_wait_fraction": round(self.wait / busy, 4) if steps_run and busy else 0.0,
            "startup_seconds": round(self.startup, 3),
        }

    def summary(self) -> dict:
        return {
            "step": self.step,
            "resumed_from": self.start,
            **self.timings(self.seconds),
            "world_size": self.runtime.world,
            **{f"train_{k}": v for k, v in self.last.items()},
        }
