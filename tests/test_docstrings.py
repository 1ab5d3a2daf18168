"""numpydoc validation of the public API (parameters, returns, sections)."""

import inspect

import pytest

numpydoc_validate = pytest.importorskip("numpydoc.validate")

import spikedcl  # noqa: E402
from spikedcl import analysis, estimators, io, objectives, plotting, solvers, sweep, theory, training  # noqa: E402
from spikedcl.experiments import subspace  # noqa: E402

# checks that are matters of taste rather than correctness
IGNORED = {
    "ES01",  # no extended summary
    "SA01",  # no See Also section
    "EX01",  # no Examples section (required of the objects of spikedcl.__all__, see TOP_LEVEL)
    "GL08",  # (reported separately below) object has no docstring
    "SS05",  # summary starts with an infinitive verb ("Returns" vs "Return")
    "SS06",  # summary fits in one line
    "RT02",  # first line of Returns should contain only the type (named returns are used)
    "PR02",  # unknown parameters (dataclass signatures)
}


def _top_level():
    """``spikedcl.NAME`` for the functions and classes of ``spikedcl.__all__``."""
    return [
        f"spikedcl.{name}"
        for name in spikedcl.__all__
        if not (inspect.ismodule(getattr(spikedcl, name)) or name.startswith("__"))
    ]


#: The main public objects: their docstrings must also have an Examples section (EX01).
TOP_LEVEL = frozenset(_top_level())


def _public_objects():
    names = []
    for qualified in _top_level():
        name = qualified.removeprefix("spikedcl.")
        obj = getattr(spikedcl, name)
        names.append(qualified)
        if inspect.isclass(obj) and not issubclass(obj, Warning):
            for attr, member in vars(obj).items():
                if not attr.startswith("_") and (inspect.isfunction(member) or isinstance(member, classmethod)):
                    names.append(f"spikedcl.{name}.{attr}")
    for module in (theory, objectives, solvers, training, sweep, io, analysis, plotting, subspace, estimators):
        names += [
            f"{module.__name__}.{name}"
            for name in module.__all__
            if callable(getattr(module, name))
        ]
    return names


@pytest.mark.parametrize("name", _public_objects())
def test_docstring(name):
    result = numpydoc_validate.validate(name)
    assert result["docstring"], f"{name} has no docstring"
    ignored = IGNORED - {"EX01"} if name in TOP_LEVEL else IGNORED
    errors = [f"{code}: {msg}" for code, msg in result["errors"] if code not in ignored]
    assert not errors, f"{name}:\n" + "\n".join(errors)
