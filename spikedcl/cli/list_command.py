"""List the configurations: the packaged ones and those of the current directory.

Each line gives the name, the experiment and the description. A packaged
configuration is run by name (``spikedcl sweep --config fig1``), one of the
current directory by its path (``spikedcl sweep --config my_study.toml``);
``spikedcl sweep --config NAME --describe`` lists an experiment's parameters.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from ..configs import local_configs, packaged_names, packaged_path, shorten, summary

__all__ = ["add_arguments", "run"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``spikedcl list``.

    Parameters
    ----------
    p : argparse.ArgumentParser
        The subcommand's parser.
    """
    p.add_argument("--dir", default=".", help="directory of local configuration files (default: .)")


def _table(rows, width):
    """Aligned lines ``name  experiment  description``, each description cut to ``width`` characters."""
    name_w = max(len(r[0]) for r in rows)
    exp_w = max(len(r[1]) for r in rows)
    return [f"  {n:<{name_w}}  {e:<{exp_w}}  {shorten(d, width)}" for n, e, d in rows]


def run(args: argparse.Namespace, prog: str = "spikedcl") -> int:
    """Run ``spikedcl list``; returns 0.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options of :func:`add_arguments`.
    prog : str, default="spikedcl"
        The program name (unused).

    Returns
    -------
    int
        0.
    """
    packaged = [summary(packaged_path(name), None) for name in packaged_names()]
    columns = shutil.get_terminal_size((120, 20)).columns
    # the description gets what the name and experiment columns leave, and at least 40 characters
    used = max(len(n) for n, _, _ in packaged) + max(len(e) for _, e, _ in packaged) + 6
    width = max(40, columns - used)
    print("packaged configurations (spikedcl sweep --config NAME):")
    print("\n".join(_table(packaged, width)))
    local = local_configs(args.dir)
    if local:
        rows = [(str(path), *summary(path, None)[1:]) for path in local]
        print(f"\nconfiguration files in {Path(args.dir).resolve()} (spikedcl sweep --config PATH):")
        print("\n".join(_table(rows, width)))
    return 0
