"""Build the paper's figures and the theory-check table from saved sweep results.

The same as ``spikedcl figures`` (:mod:`spikedcl.cli.figures_command`).

Usage::

    python simulations/make_figures.py fig1            # ./figures/fig1.pdf and .png
    python simulations/make_figures.py all             # every config with saved results
    python simulations/make_figures.py fig1 --quick    # from ./results/fig1-quick

Figures are drawn from ``./results/NAME[-quick]/results.parquet`` (``--results``
changes the root) into ``./figures`` (``--out``). Exit codes: 0 success, 2
unknown configuration or missing results.
"""

from spikedcl.cli import console
from spikedcl.cli import main as _main

PROG = "python simulations/make_figures.py"


def main(argv=None):
    """Run the figures command with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    return _main(argv, prog=PROG, command="figures")


if __name__ == "__main__":
    console(prog=PROG, command="figures")
