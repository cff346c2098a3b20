"""Shared fixtures: the golden VITON-HD samples (skipped when absent) and tiny datasets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[1]
GOLDEN = Path(os.environ.get("VTON_GOLDEN", PROJECT.parent / "shared" / "golden" / "vitonhd"))


@pytest.fixture(scope="session")
def golden() -> Path:
    """Root of the five real VITON-HD test samples (../shared/golden/vitonhd)."""
    if not (GOLDEN / "test" / "image").is_dir():
        pytest.skip(
            f"golden VITON-HD samples not found at {GOLDEN}; set VTON_GOLDEN to a "
            "VITON-HD-layout root to run this test"
        )
    return GOLDEN


@pytest.fixture(scope="session")
def golden_ids(golden: Path) -> list[str]:
    return sorted(p.stem for p in (golden / "test" / "image").glob("*.jpg"))


@pytest.fixture(scope="session")
def prefect_api() -> str:
    """A real Prefect API server for this test session (Prefect's own test harness, with a
    temporary database); yields its URL so subprocesses can report to it as well."""
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield PREFECT_API_URL.value()


@pytest.fixture(scope="module")
def one_torch_thread():
    """One intra-op torch thread for a module of tiny nets: a second one only spins (20x
    slower on a busy box). Modules use it with `pytest.mark.usefixtures`."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
