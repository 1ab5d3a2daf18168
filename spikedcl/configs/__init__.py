"""The packaged sweep configurations: one TOML file per figure or study.

Each ``NAME.toml`` in this package is found by name from any install
(``spikedcl sweep --config fig1``, :func:`spikedcl.sweep.load_config`); a
configuration of one's own is given by its path. The keys are described in
:mod:`spikedcl.sweep`; ``spikedcl list`` prints every configuration with its
description.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path

__all__ = ["packaged_names", "packaged_path", "local_configs", "summary", "shorten"]


def _directory() -> Path:
    return Path(str(resources.files(__name__)))


def packaged_names() -> list[str]:
    """The names of the packaged configurations, sorted.

    Returns
    -------
    list of str
        One name per ``spikedcl/configs/NAME.toml``.

    Examples
    --------
    >>> from spikedcl.configs import packaged_names
    >>> {"quick", "fig1", "fig6"} <= set(packaged_names())
    True
    """
    return sorted(p.stem for p in _directory().glob("*.toml"))


def packaged_path(name: str) -> Path | None:
    """The file of the packaged configuration ``name``, or ``None``.

    Parameters
    ----------
    name : str
        A configuration name such as ``"fig1"``.

    Returns
    -------
    pathlib.Path or None
        ``spikedcl/configs/NAME.toml`` inside the installed package, if it exists.
    """
    path = _directory() / f"{name}.toml"
    return path if path.is_file() else None


def local_configs(directory: str | Path = ".") -> list[Path]:
    """The TOML files of ``directory`` that are sweep configurations (they name an ``experiment``).

    Parameters
    ----------
    directory : str or pathlib.Path, default="."
        Where to look (not recursively).

    Returns
    -------
    list of pathlib.Path
        Sorted paths; files that are not valid TOML or name no experiment are left out.
    """
    found = []
    for path in sorted(Path(directory).glob("*.toml")):
        try:
            raw = tomllib.loads(path.read_text())
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue
        if isinstance(raw.get("experiment"), str):
            found.append(path)
    return found


def shorten(text: str, width: int) -> str:
    """``text`` on one line, cut at a word to at most ``width`` characters (ending in "…" when cut).

    Parameters
    ----------
    text : str
        Any text; runs of whitespace become one space.
    width : int
        Longest result.

    Returns
    -------
    str
        The shortened text.

    Examples
    --------
    >>> from spikedcl.configs import shorten
    >>> shorten("sinΘ vs n  for PCA and CL", 16)
    'sinΘ vs n for…'
    """
    text = " ".join(text.split())
    if len(text) > width:
        text = text[: width - 1].rsplit(" ", 1)[0] + "…"
    return text


def summary(path: str | Path, width: int | None = 96) -> tuple[str, str, str]:
    """``(name, experiment, description)`` of a configuration file, the description cut to one line.

    Parameters
    ----------
    path : str or pathlib.Path
        A configuration file.
    width : int or None, default=96
        Longest description kept; a longer one is cut at a word and ends with "…"
        (:func:`shorten`). ``None``: the whole description, on one line.

    Returns
    -------
    tuple of str
        The configuration's name (its ``name`` key or the file stem), experiment and description.
    """
    path = Path(path)
    raw = tomllib.loads(path.read_text())
    text = str(raw.get("description", ""))
    text = " ".join(text.split()) if width is None else shorten(text, width)
    return str(raw.get("name", path.stem)), str(raw.get("experiment", "")), text
