"""Where a run executes: the device, DDP process group and mixed precision.

A plain `python` run is one process; under `torchrun` (WORLD_SIZE > 1 in the environment)
each process joins the group with the NCCL backend on CUDA and gloo on CPU, and takes the
GPU of its LOCAL_RANK. The same code runs in both cases.

`deterministic` and `seed_everything` make a run a function of its params: on CPU, two runs
with the same params and thread count give bit-identical weights (other thread counts or CPU
kernels move the last bits of float sums; see BENCHMARKS.md, "Reproducibility").
"""

from __future__ import annotations

import contextlib
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist


@dataclass
class Runtime:
    device: torch.device
    rank: int = 0
    world: int = 1
    amp: bool = False
    amp_dtype: torch.dtype = torch.float16

    @property
    def distributed(self) -> bool:
        return self.world > 1

    @property
    def scaled(self) -> bool:
        """Whether losses need grad scaling: float16 autocast only."""
        return self.amp and self.amp_dtype == torch.float16

    @property
    def main(self) -> bool:
        return self.rank == 0

    def autocast(self):
        if not self.amp:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def barrier(self) -> None:
        if self.distributed:
            dist.barrier()

    def mean(self, values: dict[str, float]) -> dict[str, float]:
        """Average scalars over processes (every process must call this)."""
        if not self.distributed or not values:
            return values
        names = sorted(values)
        t = torch.tensor([values[n] for n in names], dtype=torch.float64, device=self.device)
        dist.all_reduce(t)
        return {n: float(v) / self.world for n, v in zip(names, t.tolist(), strict=True)}


def resolve_device(name: str, local_rank: int = 0) -> torch.device:
    """`auto` -> CUDA (this process's GPU) when present, else CPU; `cuda` fails clearly without."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda"):
        if not torch.cuda.is_available():
            raise RuntimeError(
                f"device {name!r} requested but CUDA is not available here; set the device "
                f"param to auto or cpu"
            )
        return torch.device(name if ":" in name else f"cuda:{local_rank}")
    if name != "cpu":
        raise ValueError(f"device must be auto, cpu, cuda or cuda:N, got {name!r}")
    return torch.device("cpu")


def start(device: str, amp: bool, amp_dtype: str = "float16") -> Runtime:
    """Join the torchrun process group when there is one; pick the device. `amp_dtype`:
    float16 (with grad scaling) or bfloat16 (no scaling needed)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device, local_rank)
    if world > 1 and not dist.is_initialized():
        if dev.type == "cuda":
            torch.cuda.set_device(dev)
        dist.init_process_group(backend="nccl" if dev.type == "cuda" else "gloo")
    dtype = {"float16": torch.float16, "bfloat16": torch.bfloat16}[amp_dtype]
    return Runtime(
        device=dev, rank=rank, world=world, amp=amp and dev.type == "cuda", amp_dtype=dtype
    )


def stop(runtime: Runtime) -> None:
    if runtime.distributed and dist.is_initialized():
        dist.destroy_process_group()


def seed_everything(seed: int) -> None:
    """Seed Python's `random`, NumPy's global RNG and torch (CPU and every GPU).

    Training draws its randomness from explicit seeds (model init after this call, the
    per-sample augmentation seed of `StepBatches`); this covers library code that uses a
    global RNG.
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


# cuBLAS needs a fixed workspace for deterministic results (CUDA >= 10.2); torch raises
# (or, with warn_only, warns) on CUDA matmuls in deterministic mode without it.
CUBLAS_WORKSPACE = ":4096:8"


@contextlib.contextmanager
def deterministic(device: torch.device) -> Iterator[None]:
    """Torch's deterministic kernels while the block runs; the previous settings after.

    On CPU every op must have a deterministic implementation (torch raises otherwise). On
    CUDA some backward kernels this project uses have none (`grid_sample`, bilinear
    `interpolate`, adaptive average pooling accumulate with atomics), so there torch warns
    and runs them: CUDA training is repeatable only up to those sums. cuDNN is kept to
    deterministic algorithms with autotuning off, and cuBLAS gets a fixed workspace unless
    CUBLAS_WORKSPACE_CONFIG is set already.
    """
    cuda = device.type == "cuda"
    if cuda:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE)
    before = (
        torch.are_deterministic_algorithms_enabled(),
        torch.is_deterministic_algorithms_warn_only_enabled(),
        torch.backends.cudnn.deterministic,
        torch.backends.cudnn.benchmark,
    )
    torch.use_deterministic_algorithms(True, warn_only=cuda)
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    try:
        yield
    finally:
        torch.use_deterministic_algorithms(before[0], warn_only=before[1])
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = before[2:]
