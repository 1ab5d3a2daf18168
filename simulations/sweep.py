"""Run a spikedcl simulation sweep, resumably, and print a summary table.

The same as ``spikedcl sweep`` (:mod:`spikedcl.cli.sweep_command`, whose help
lists every option). Without arguments this runs the ``quick`` configuration
(about a minute or less on two cores): ‖sinΘ(U*, Û)‖_F for PCA and linear
contrastive learning (realized per-sample masks, the mask-averaged matrix and a
fixed mask) as n grows, at d = 200, r = 5, condition number 8, 20 replicates
(docs/model.md §9, F1).

Usage::

    python simulations/sweep.py                                  # the quick preset
    python simulations/sweep.py --config fig1 --n-jobs -1        # figure F1 in full
    python simulations/sweep.py --config fig2 --quick            # a tiny version
    python simulations/sweep.py --config fig1 --backend dask --scheduler tcp://host:8786

Results go to ``./results/NAME`` (``./results/NAME-quick`` with ``--quick``).
Exit codes: 0 success, 1 some cells failed, 2 bad configuration or arguments,
128 + N after signal N.
"""

from spikedcl.cli import console
from spikedcl.cli import main as _main

PROG = "python simulations/sweep.py"


def main(argv=None):
    """Run the sweep command with ``argv`` (default ``sys.argv[1:]``); returns the exit code."""
    return _main(argv, prog=PROG, command="sweep")


if __name__ == "__main__":
    console(prog=PROG, command="sweep")
