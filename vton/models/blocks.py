"""Shared building blocks: tensor contract checks, config-carrying modules, conv blocks."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any, ClassVar

from torch import nn

CONFIG_NAME = "config.json"
WEIGHTS_NAME = "model.safetensors"


class ConfigModule(nn.Module):
    """A module built from a frozen dataclass config that it saves beside its weights.

    `save_pretrained(dir)` writes `config.json` (with the model's `kind`) and
    `model.safetensors`; `from_pretrained(dir)` rebuilds the module from them. The caller
    owns the device: weights load on CPU, move the module with `.to(device)`.
    """

    kind: ClassVar[str]
    config_class: ClassVar[type]

    def __init__(self, config: Any):
        super().__init__()
        self.config = config

    def save_pretrained(self, directory: str | Path) -> Path:
        from safetensors.torch import save_file

        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        doc = {"kind": self.kind, **dataclasses.asdict(self.config)}
        (directory / CONFIG_NAME).write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        state = {k: v.detach().contiguous().cpu() for k, v in self.state_dict().items()}
        tmp = directory / f".{WEIGHTS_NAME}.tmp"
        save_file(state, str(tmp))
        tmp.replace(directory / WEIGHTS_NAME)
        return directory

    @classmethod
    def read_config(cls, directory: str | Path) -> Any:
        path = Path(directory) / CONFIG_NAME
        if not path.is_file():
            raise FileNotFoundError(
                f"{path} not found: a saved {cls.kind} model directory holds {CONFIG_NAME} and "
                f"{WEIGHTS_NAME} (written by save_pretrained, e.g. by the train_{cls.kind} stage)"
            )
        doc = json.loads(path.read_text())
        if doc.pop("kind", None) != cls.kind:
            raise ValueError(f"{path} describes a model of another kind, not {cls.kind!r}")
        names = {f.name for f in dataclasses.fields(cls.config_class)}
        unknown = sorted(set(doc) - names)
        if unknown:
            raise ValueError(f"{path}: unknown config keys {unknown} for {cls.kind}")
        return cls.config_class(
            **{k: tuple(v) if isinstance(v, list) else v for k, v in doc.items()}
        )

    @classmethod
    def from_pretrained(cls, directory: str | Path):
        from safetensors.torch import load_file

        model = cls(cls.read_config(directory))
        weights = Path(directory) / WEIGHTS_NAME
        if not weights.is_file():
            raise FileNotFoundError(f"{weights} not found beside {CONFIG_NAME}")
        model.load_state_dict(load_file(str(weights), device="cpu"))
        return model


def conv_block(cin: int, cout: int, stride: int = 1, norm: bool = True) -> nn.Sequential:
    """3x3 (stride 1) or 4x4 (stride 2) conv, instance norm, ReLU.

    Instance norm (not batch norm) keeps every sample independent of the others in its
    batch, so a DDP run over split batches computes exactly what one process computes.
    """
    kernel = 4 if stride == 2 else 3
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, kernel, stride, 1, bias=not norm)]
    if norm:
        layers.append(nn.InstanceNorm2d(cout, affine=True))
    layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)
