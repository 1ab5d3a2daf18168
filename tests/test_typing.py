"""Type hints on the public API: every public callable is fully annotated and its hints resolve.

``MODULES`` lists the modules checked. For each, every function and class named in
its ``__all__`` and defined there (re-exports are checked in their home module) must
annotate every parameter and its return, and :func:`typing.get_type_hints` must
resolve the annotations (no undefined names, no typos hidden by
``from __future__ import annotations``). For a class, its own annotations and each
public method, classmethod, staticmethod and property defined on it are checked,
with ``__init__`` when the class defines one by hand.
"""

import importlib
import inspect
import typing
from pathlib import Path

import pytest

import spikedcl

MODULES = [
    "spikedcl._typing",
    "spikedcl.analysis",
    "spikedcl.asymptotics",
    "spikedcl.augment",
    "spikedcl.cli",
    "spikedcl.cli.figures_command",
    "spikedcl.cli.list_command",
    "spikedcl.cli.replicate_command",
    "spikedcl.cli.sweep_command",
    "spikedcl.closed_form",
    "spikedcl.configs",
    "spikedcl.data",
    "spikedcl.downstream",
    "spikedcl.eigensolvers",
    "spikedcl.engine",
    "spikedcl.engine.base",
    "spikedcl.engine.dask",
    "spikedcl.engine.local",
    "spikedcl.estimators",
    "spikedcl.exceptions",
    "spikedcl.experiments.base",
    "spikedcl.experiments.gd",
    "spikedcl.experiments.spiked",
    "spikedcl.experiments.subspace",
    "spikedcl.experiments.supervised",
    "spikedcl.experiments.systems.align_uniform_weights",
    "spikedcl.experiments.systems.batch_size_effects",
    "spikedcl.experiments.systems.byol_dynamics",
    "spikedcl.experiments.systems.dimensional_collapse",
    "spikedcl.experiments.systems.loss_comparison",
    "spikedcl.experiments.systems.methods",
    "spikedcl.experiments.systems.nt_xent_temperature",
    "spikedcl.experiments.systems.parameters",
    "spikedcl.experiments.systems.projection_head",
    "spikedcl.experiments.systems.representation_metrics",
    "spikedcl.experiments.systems.spectral_cl",
    "spikedcl.experiments.systems.trainer",
    "spikedcl.experiments.systems.two_towers",
    "spikedcl.forms",
    "spikedcl.io",
    "spikedcl.metrics",
    "spikedcl.notebook",
    "spikedcl.objectives",
    "spikedcl.options",
    "spikedcl.plotting.gd",
    "spikedcl.plotting.panels",
    "spikedcl.plotting.styles",
    "spikedcl.plotting.supervised",
    "spikedcl.plotting.systems",
    "spikedcl.population",
    "spikedcl.progress",
    "spikedcl.random",
    "spikedcl.results",
    "spikedcl.solvers",
    "spikedcl.stats",
    "spikedcl.streaming",
    "spikedcl.supervised",
    "spikedcl.sweep",
    "spikedcl.systems.align_uniform",
    "spikedcl.systems.base",
    "spikedcl.systems.byol",
    "spikedcl.systems.collapse",
    "spikedcl.systems.encoder",
    "spikedcl.systems.linear_cl",
    "spikedcl.systems.negatives",
    "spikedcl.systems.nt_xent",
    "spikedcl.systems.siglip",
    "spikedcl.systems.spectral",
    "spikedcl.theory",
    "spikedcl.training",
]


def _unwrap(member):
    """The plain function behind a method, classmethod, staticmethod or property (None if none)."""
    if isinstance(member, (classmethod, staticmethod)):
        return member.__func__
    if isinstance(member, property):
        return member.fget
    if inspect.isfunction(member):
        return member
    return None


def _callables():
    """``(id, function, is_method)`` for every public callable of the listed modules."""
    out = []
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if getattr(obj, "__module__", None) != module_name:
                continue  # a re-export, or a constant: checked where it is defined
            if inspect.isfunction(obj):
                out.append((f"{module_name}.{name}", obj, False))
            elif inspect.isclass(obj):
                for attr, member in vars(obj).items():
                    if attr.startswith("_") and attr != "__init__":
                        continue
                    func = _unwrap(member)
                    if func is None or getattr(func, "__module__", None) != module_name:
                        continue  # generated (dataclass __init__) or inherited
                    is_method = not isinstance(member, staticmethod)
                    out.append((f"{module_name}.{name}.{attr}", func, is_method))
    return out


def _classes():
    out = []
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name in getattr(module, "__all__", ()):
            obj = getattr(module, name)
            if inspect.isclass(obj) and obj.__module__ == module_name:
                out.append((f"{module_name}.{name}", obj))
    return out


CALLABLES = _callables()
CLASSES = _classes()


def test_collection_is_not_empty():
    # a renamed module or an emptied __all__ would otherwise pass every test silently
    assert len(CALLABLES) > 50
    assert len(CLASSES) > 10


@pytest.mark.parametrize(("name", "func", "is_method"), CALLABLES, ids=[c[0] for c in CALLABLES])
def test_callable_is_annotated(name, func, is_method):
    params = list(inspect.signature(func).parameters.values())
    if is_method and params and params[0].name in ("self", "cls"):
        params = params[1:]
    missing = [p.name for p in params if p.annotation is inspect.Parameter.empty]
    assert not missing, f"{name}: parameters without annotation: {missing}"
    assert "return" in func.__annotations__, f"{name}: the return is not annotated"
    hints = typing.get_type_hints(func)  # raises NameError on an undefined name
    assert set(hints) >= {p.name for p in params} | {"return"}


@pytest.mark.parametrize(("name", "cls"), CLASSES, ids=[c[0] for c in CLASSES])
def test_class_annotations_resolve(name, cls):
    typing.get_type_hints(cls)  # fields of dataclasses and NamedTuples, class variables


def test_py_typed_marker_ships():
    marker = Path(spikedcl.__file__).parent / "py.typed"
    assert marker.is_file(), "spikedcl/py.typed (PEP 561 marker) is missing"
