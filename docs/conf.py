"""Sphinx configuration of the spikedcl documentation.

Build with ``python -m sphinx -W -b html docs docs/_build/html`` from the repository root.
"""

import importlib
import inspect
import os
import re
import sys
import warnings
from collections.abc import Mapping
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))

import spikedcl  # noqa: E402

project = "spikedcl"
author = "spikedcl developers"
copyright = "spikedcl developers, BSD-3-Clause"
release = spikedcl.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "**.ipynb_checkpoints", "auto_examples/*.ipynb", "auto_examples/*.py",
                    "auto_examples/*.zip", "auto_examples/*.json", "auto_examples/*.md5",
                    "auto_examples/*.codeobj.json"]

# Markdown: the model documents use $...$ / $$...$$ maths and raw-HTML section anchors.
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist"]
myst_heading_anchors = 3
myst_dmath_double_inline = True  # "$$...$$" inside a paragraph is display maths

# API reference: one page per public name, generated from api.rst.
autosummary_generate = True
autosummary_imported_members = True
autosummary_ignore_module_all = False

autodoc_typehints = "none"  # numpydoc's Parameters sections carry the types
autodoc_member_order = "bysource"
add_module_names = False

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_validation_checks = set()

# Gallery: executed examples, each downloadable as a script and a notebook.
sphinx_gallery_conf = {
    "examples_dirs": str(ROOT / "examples"),
    "gallery_dirs": str(DOCS / "auto_examples"),
    "filename_pattern": r"/plot_",
    "within_subsection_order": "FileNameSortKey",  # the numbers in the file names give the order
    "download_all_examples": True,
    "remove_config_comments": True,
    "show_memory": False,
    "matplotlib_animations": False,
    "plot_gallery": "True",
    "reset_modules": ("matplotlib",),
    "abort_on_example_error": True,
    "capture_repr": ("_repr_html_", "__repr__"),
    "min_reported_time": 1,
}

html_theme = "pydata_sphinx_theme"
html_title = f"spikedcl {release}"
html_static_path = ["_static"]
html_css_files = ["spikedcl.css"]
html_show_sourcelink = False
html_theme_options = {
    "navigation_with_keys": False,
    # the sidebar shows the current section only: a whole-site tree on each of the ~500 API pages
    # would dominate the build time
    "collapse_navigation": True,
    "navigation_depth": 2,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc"],
    "footer_start": ["copyright"],
    "footer_end": [],
}
html_sidebars = {"model": [], "systems": [], "index": []}

warnings.filterwarnings("ignore", message="Matplotlib is currently using agg", category=UserWarning)


# ---------------------------------------------------------------------------
# Every public name is in the API reference: a name of spikedcl.__all__ or of a public submodule's __all__
# that api.rst does not list is a build error (it warns, and the build runs with -W).

PUBLIC_MODULES = (
    "spikedcl", "spikedcl.sweep", "spikedcl.io", "spikedcl.analysis", "spikedcl.theory", "spikedcl.plotting",
    "spikedcl.systems", "spikedcl.experiments", "spikedcl.engine", "spikedcl.stats", "spikedcl.forms", "spikedcl.augment", "spikedcl.solvers",
    "spikedcl.training", "spikedcl.streaming", "spikedcl.eigensolvers", "spikedcl.metrics",
    "spikedcl.downstream", "spikedcl.supervised", "spikedcl.population", "spikedcl.objectives",
    "spikedcl.results", "spikedcl.random", "spikedcl.data", "spikedcl.closed_form", "spikedcl.exceptions",
    "spikedcl.estimators", "spikedcl.asymptotics", "spikedcl.cli", "spikedcl.configs", "spikedcl.notebook",
    "spikedcl.progress", "spikedcl.options",
)
def _listed_names(api_text):
    """The ``module.name`` entries of the autosummary tables, under their ``currentmodule``."""
    current, names = None, set()
    for line in api_text.splitlines():
        m = re.match(r"\.\. (?:currentmodule|module|automodule):: (\S+)", line.strip())
        if m:
            current = m.group(1)
            continue
        m = re.match(r"^\s{3,}(~?[A-Za-z_][\w.]*)\s*$", line)
        if m and current is not None and not line.strip().startswith(":"):
            names.add(f"{current}.{m.group(1).lstrip('~')}")
    return names


def _check_api_complete(app):
    text = "\n".join(p.read_text() for p in [DOCS / "api.rst", *sorted((DOCS / "api").glob("*.rst"))])
    listed = _listed_names(text)
    missing = []
    for name in PUBLIC_MODULES:
        module = importlib.import_module(name)
        for n in getattr(module, "__all__", ()):
            # a submodule in __all__ is listed by its own page (the module template lists its __all__)
            if n == "__version__" or f"{name}.{n}" in PUBLIC_MODULES or f"{name}.{n}" in listed:
                continue
            missing.append(f"{name}.{n}")
    # a re-export (spikedcl.LinearContrastive) is listed when the same object is listed under another name
    documented = set()
    for entry in listed:
        module, _, attr = entry.rpartition(".")
        try:
            documented.add(id(getattr(importlib.import_module(module), attr)))
        except (ImportError, AttributeError):
            continue
    missing = [n for n in missing if id(getattr(importlib.import_module(n.rpartition(".")[0]), n.rpartition(".")[2]))
               not in documented]
    if missing:
        from sphinx.util import logging

        logging.getLogger(__name__).warning("public names missing from the API reference: %s", ", ".join(missing))


# ---------------------------------------------------------------------------
# Docstrings cite the model documents as "docs/model.md §N"; in the rendered pages each citation links
# to its section.

_CITATION = re.compile(r"(?<![`<\w/])docs/(model|systems)\.md §(\d+)")


def _linked(line):
    """``line`` with each citation outside an inline literal turned into a link to its section."""
    out, last = [], 0
    for m in _CITATION.finditer(line):
        if line[: m.start()].count("``") % 2:  # inside an inline literal
            continue
        out += [line[last : m.start()], f"`docs/{m.group(1)}.md §{m.group(2)} <../{m.group(1)}.html#s{m.group(2)}>`__"]
        last = m.end()
    return "".join(out) + line[last:]


def _link_citations(app, what, name, obj, options, lines):
    # every API page is one level down (generated/, api/), as are the user guide and the gallery
    for i, line in enumerate(lines):
        if "docs/" in line:
            lines[i] = _linked(line)


def _link_page_citations(app, docname, source):
    if docname.startswith(("user_guide/", "auto_examples/")) and "docs/" in source[0]:
        source[0] = "\n".join(_linked(line) if "docs/" in line else line for line in source[0].split("\n"))


def _describe_data(app, what, name, obj, options, lines):
    """A constant or registry without its own comment is described by its value, not by its type's docstring."""
    if what not in ("data", "attribute") or isinstance(obj, type):
        return
    text = inspect.cleandoc("\n".join(lines))
    if text and text != inspect.getdoc(type(obj)):
        return  # its own comment (#:) or docstring
    if isinstance(obj, Mapping):
        keys = ", ".join(f"``{k}``" for k in obj)
        text = [f"A registry (:class:`{type(obj).__name__}`) of {len(obj)} entries: {keys}."]
    else:
        value = repr(obj)
        text = [f"``{value}``" if len(value) <= 300 and "\n" not in value and "`" not in value
                else f"An instance of ``{type(obj).__name__}``."]
    lines[:] = text


CLI_COMMANDS = ("sweep", "figures", "list", "replicate")


def _write_cli_help(app):
    """The help of each subcommand, as ``spikedcl COMMAND --help`` prints it, for the command-line page."""
    out = DOCS / "generated" / "cli"
    out.mkdir(parents=True, exist_ok=True)
    os.environ["COLUMNS"] = "100"  # argparse wraps to the terminal width
    from spikedcl.cli import build_parser

    for command in (None, *CLI_COMMANDS):
        prog = "spikedcl" if command is None else f"spikedcl {command}"
        text = build_parser(prog, command).format_help()
        (out / f"{command or 'main'}.txt").write_text(text)


def _public_bases(app, name, obj, options, bases):
    """Class pages name only public bases (a private helper base says nothing to a reader)."""
    def public(base):
        if not getattr(base, "__name__", "x").startswith("_"):
            return [base]
        return [b for parent in base.__bases__ for b in public(parent)]

    bases[:] = list(dict.fromkeys(b for base in bases for b in public(base)))


def _skip_foreign_members(app, what, name, obj, skip, options):
    """Class pages document spikedcl's own methods, not those a base class of another library adds
    (scikit-learn's ``set_fit_request`` and the like)."""
    module = getattr(obj, "__module__", None) or ""
    if what == "class" and callable(obj) and module and not module.startswith("spikedcl"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_foreign_members)
    app.connect("autodoc-process-bases", _public_bases)
    app.connect("builder-inited", _write_cli_help)
    app.connect("source-read", _link_page_citations)
    app.connect("builder-inited", _check_api_complete)
    app.connect("autodoc-process-docstring", _describe_data, priority=400)  # before numpydoc
    app.connect("autodoc-process-docstring", _link_citations)
