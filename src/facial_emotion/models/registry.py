"""Name -> network constructor, so a model file can rebuild its network without unpickling code."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from facial_emotion.core.model_file import ModelFileError

_REGISTRY: dict[str, Callable[..., nn.Module]] = {}


def register_model(name: str) -> Callable:
    """Class decorator: make a network buildable by `build_model(name, **kwargs)`."""

    def decorator(cls: type[nn.Module]) -> type[nn.Module]:
        _REGISTRY[name] = cls
        cls.registry_name = name
        return cls

    return decorator


def build_model(name: str, **kwargs) -> nn.Module:
    """Instantiate a registered network."""
    _import_builtin_models()
    if name not in _REGISTRY:
        raise KeyError(f"unknown architecture {name!r}; known: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name](**kwargs)


def _import_builtin_models() -> None:
    from facial_emotion.models import timm_backbone, vgg  # noqa: F401  (registers them)


def architecture_of(net: nn.Module) -> dict[str, Any]:
    """The registry name and constructor kwargs of a registered network (unwrapping torch.compile)."""
    net = getattr(net, "_orig_mod", net)
    if not hasattr(net, "registry_name"):
        raise ModelFileError(f"{type(net).__name__} is not a registered architecture; cannot export it")
    return {"name": net.registry_name, "kwargs": dict(net.init_kwargs)}
