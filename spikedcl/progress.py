"""Progress bars that suit where the code runs: a terminal, or Jupyter with or without ipywidgets.

``tqdm.auto`` picks the widget bar in Jupyter and warns ("IProgress not
found") when ipywidgets is missing; here the widget bar is used only when
ipywidgets can be imported, and the text bar (which Jupyter renders in place)
otherwise, without a warning.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

__all__ = ["progress_bar", "in_notebook", "has_widgets"]


def in_notebook() -> bool:
    """Whether the code runs in a Jupyter kernel (an IPython ``ZMQInteractiveShell``).

    Returns
    -------
    bool
        ``True`` inside a notebook or JupyterLab console, ``False`` in a
        terminal, a script or a plain IPython shell.
    """
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return type(shell).__name__ == "ZMQInteractiveShell"


def has_widgets() -> bool:
    """Whether ipywidgets can be imported (the condition of tqdm's widget bar).

    Returns
    -------
    bool
        ``True`` when ``ipywidgets`` is installed.
    """
    return importlib.util.find_spec("ipywidgets") is not None


def progress_bar(total: int, *, desc: str | None = None, unit: str = "it", disable: bool = False) -> Any:
    """A tqdm bar: the widget bar in Jupyter with ipywidgets, else the text bar.

    Parameters
    ----------
    total : int
        Number of steps.
    desc : str, optional
        Label shown before the bar.
    unit : str, default="it"
        Name of one step.
    disable : bool, default=False
        Show nothing.

    Returns
    -------
    tqdm.std.tqdm
        A context manager with ``update``; a ``tqdm.notebook.tqdm`` in Jupyter
        when ipywidgets is installed.

    Examples
    --------
    >>> from spikedcl.progress import progress_bar
    >>> with progress_bar(3, desc="cells", disable=True) as bar:  # outside Jupyter: the text bar
    ...     type(bar).__module__
    'tqdm.std'
    """
    if not disable and in_notebook() and has_widgets():
        from tqdm.notebook import tqdm
    else:
        from tqdm.std import tqdm
    return tqdm(total=total, desc=desc, unit=unit, disable=disable)
