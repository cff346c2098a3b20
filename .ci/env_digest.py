"""Print the digest of what defines the virtual environment (the Makefile's stamp).

That is requirements.lock and the parts of pyproject.toml that pip reads ([build-system] and
[project]); tool settings ([tool.*]: ruff, mypy, pytest) do not rebuild the environment.
Run by the system Python before the environment exists, so standard library only.
"""

import hashlib
import json
import sys
import tomllib
from pathlib import Path

root = Path(__file__).resolve().parent.parent
pyproject = tomllib.loads((root / "pyproject.toml").read_text())
defining = {key: pyproject.get(key) for key in ("build-system", "project")}
digest = hashlib.sha256((root / "requirements.lock").read_bytes())
digest.update(json.dumps(defining, sort_keys=True).encode())
sys.stdout.write(digest.hexdigest()[:16] + "\n")
