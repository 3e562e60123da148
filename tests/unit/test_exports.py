"""Every package's exported members (公开成员): each public module declares ``__all__``, every name in it exists,
and every package of the layout is there (a capability that lost its folder fails here, not in production)."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

import pytest

import yigongti

CAPABILITIES = ("core", "datafolder", "registry", "enrollment", "benefits", "appraisal", "budget", "platform",
                "interop", "demo", "app")


def _public_modules() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(yigongti.__path__, "yigongti."):
        parts = info.name.split(".")
        if any(p.startswith("_") for p in parts[1:]) or ".migrations" in info.name:
            continue
        names.append(info.name)
    return sorted(names)


MODULES = _public_modules()


def test_every_capability_is_a_package() -> None:
    for cap in CAPABILITIES:
        module = importlib.import_module(f"yigongti.{cap}")
        assert hasattr(module, "__path__"), f"yigongti.{cap} should be a package"
        assert module.__doc__, f"yigongti.{cap} should say what it holds"


def _is_package(module: ModuleType) -> bool:
    return hasattr(module, "__path__")


@pytest.mark.parametrize("name", MODULES)
def test_public_module_declares_and_defines_its_exports(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    if _is_package(module) and exported is None:
        return  # a package that only groups modules exports nothing itself
    assert exported is not None, f"{name} declares no __all__"
    assert len(set(exported)) == len(exported), f"{name}.__all__ lists a name twice"
    missing = [n for n in exported if not hasattr(module, n)]
    assert not missing, f"{name}.__all__ names what it does not define: {missing}"


def test_the_walk_found_the_layout() -> None:
    assert "yigongti.budget.service" in MODULES
    assert "yigongti.benefits.engine" in MODULES
    assert len(MODULES) > 60
