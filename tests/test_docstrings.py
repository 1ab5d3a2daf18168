"""numpydoc validation of the public API (parameters, returns, sections)."""

import inspect

import pytest

numpydoc_validate = pytest.importorskip("numpydoc.validate")

import spikedcl  # noqa: E402
from spikedcl import analysis, io, objectives, plotting, solvers, sweep, theory, training  # noqa: E402
from spikedcl.experiments import subspace  # noqa: E402

# checks that are matters of taste rather than correctness
IGNORED = {
    "ES01",  # no extended summary
    "SA01",  # no See Also section
    "EX01",  # no Examples section
    "GL08",  # (reported separately below) object has no docstring
    "SS05",  # summary starts with an infinitive verb ("Returns" vs "Return")
    "SS06",  # summary fits in one line
    "RT02",  # first line of Returns should contain only the type (named returns are used)
    "PR02",  # unknown parameters (dataclass signatures)
}


def _public_objects():
    names = []
    for name in spikedcl.__all__:
        obj = getattr(spikedcl, name)
        if inspect.ismodule(obj) or name.startswith("__"):
            continue
        names.append(f"spikedcl.{name}")
        if inspect.isclass(obj) and not issubclass(obj, Warning):
            for attr, member in vars(obj).items():
                if not attr.startswith("_") and (inspect.isfunction(member) or isinstance(member, classmethod)):
                    names.append(f"spikedcl.{name}.{attr}")
    for module in (theory, objectives, solvers, training, sweep, io, analysis, plotting, subspace):
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
    errors = [f"{code}: {msg}" for code, msg in result["errors"] if code not in IGNORED]
    assert not errors, f"{name}:\n" + "\n".join(errors)
