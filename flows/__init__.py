"""Prefect flows: scheduling, retries and fan-out around the same library calls as the stages.

`vton` is imported first: it switches off the network calls of dependencies (Prefect's
analytics among them) before Prefect reads its settings.
"""

import os as _os

import vton  # noqa: F401

# Task-runner workers log outside a flow run; that is expected, not worth a warning.
_os.environ.setdefault("PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW", "ignore")
