"""vton: reproducible data and training pipeline for image-based virtual try-on."""

import os as _os

__version__ = "0.1.0"

# Nothing in vton may reach the network at run time. These switch off the calls that
# dependencies make on import or on use (hub downloads, update checks, analytics); a user who
# wants hub ids resolved online sets them to 0 in the environment before importing vton.
for _key, _value in {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "NO_ALBUMENTATIONS_UPDATE": "1",
    "DVC_NO_ANALYTICS": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "DO_NOT_TRACK": "1",
}.items():
    _os.environ.setdefault(_key, _value)
