"""The ``Examples`` sections of the docstrings run as doctests and match their printed output.

``MODULES`` lists the modules whose doctests run (one test per docstring that has
examples, with ``ELLIPSIS`` and ``NORMALIZE_WHITESPACE``). Every function and class of
``spikedcl.__all__`` defined in a listed module must have an ``Examples`` section.
"""

import doctest
import importlib
import inspect
import re

import numpy as np
import pytest

import spikedcl

MODULES = [
    "spikedcl._array_api",
    "spikedcl.analysis",
    "spikedcl.asymptotics",
    "spikedcl.augment",
    "spikedcl.closed_form",
    "spikedcl.configs",
    "spikedcl.data",
    "spikedcl.downstream",
    "spikedcl.eigensolvers",
    "spikedcl.engine",
    "spikedcl.estimators",
    "spikedcl.exceptions",
    "spikedcl.experiments.base",
    "spikedcl.experiments.subspace",
    "spikedcl.forms",
    "spikedcl.io",
    "spikedcl.metrics",
    "spikedcl.objectives",
    "spikedcl.options",
    "spikedcl.plotting.styles",
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
    "spikedcl.systems.negatives",
    "spikedcl.systems.nt_xent",
    "spikedcl.systems.siglip",
    "spikedcl.systems.spectral",
    "spikedcl.theory",
    "spikedcl.training",
]

OPTIONFLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
_EXAMPLES_HEADING = re.compile(r"^Examples\n-{8,}\n", re.MULTILINE)


def _doctests():
    finder = doctest.DocTestFinder(exclude_empty=True)
    tests = []
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for test in finder.find(module, module_name):
            if test.examples:
                tests.append(test)
    return sorted(tests, key=lambda t: t.name)


DOCTESTS = _doctests()


@pytest.mark.parametrize("test", DOCTESTS, ids=[t.name for t in DOCTESTS])
def test_doctest(test):
    runner = doctest.DocTestRunner(optionflags=OPTIONFLAGS)
    report = []
    test.globs = dict(test.globs)  # each docstring starts from the module's namespace
    with np.printoptions(legacy=False):
        runner.run(test, out=report.append, clear_globs=True)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, "".join(report)


def _top_level_public():
    out = []
    for name in spikedcl.__all__:
        obj = getattr(spikedcl, name)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)):
            continue
        if obj.__module__ in MODULES:
            out.append((name, obj))
    return out


TOP_LEVEL = _top_level_public()


def test_collections_are_not_empty():
    assert len(DOCTESTS) >= len(TOP_LEVEL) > 30


@pytest.mark.parametrize(("name", "obj"), TOP_LEVEL, ids=[n for n, _ in TOP_LEVEL])
def test_has_examples_section(name, obj):
    doc = inspect.getdoc(obj) or ""
    match = _EXAMPLES_HEADING.search(doc)
    assert match, f"spikedcl.{name} has no Examples section"
    assert ">>>" in doc[match.end():], f"spikedcl.{name}: its Examples section has no >>> example"
