"""The ``spikedcl`` command: ``sweep``, ``figures``, ``list`` and ``replicate``.

Usage::

    spikedcl sweep                                   # the quick preset, into ./results/quick
    spikedcl sweep --config fig1 --quick             # a tiny fig1, into ./results/fig1-quick
    spikedcl figures fig1 --quick                    # ./figures/fig1-quick.pdf and .png
    spikedcl list                                    # the configurations, one line each
    spikedcl replicate --config fig1 --point n=1000 --rep 3

``python -m spikedcl`` is the same command. ``spikedcl COMMAND --help`` lists
each command's options. Outputs go under the current directory. Exit codes:
0 success, 1 some cells failed, 2 bad configuration or arguments, 128 + N
after signal N (130 for Ctrl-C).
"""

from __future__ import annotations

import argparse
import signal
import sys
import warnings
from collections.abc import Sequence

from . import figures_command, list_command, replicate_command, sweep_command

__all__ = ["main", "console", "build_parser", "COMMANDS"]

#: subcommand -> module with ``add_arguments(parser)`` and ``run(args, prog) -> int``
COMMANDS = {
    "sweep": sweep_command,
    "figures": figures_command,
    "list": list_command,
    "replicate": replicate_command,
}


def build_parser(prog: str = "spikedcl", command: str | None = None) -> argparse.ArgumentParser:
    """The parser of the ``spikedcl`` command and its subcommands, or of one subcommand alone.

    Parameters
    ----------
    prog : str, default="spikedcl"
        Program name shown in the help.
    command : str, optional
        A key of :data:`COMMANDS`: the parser of that subcommand alone (the
        scripts of ``simulations/`` use it).

    Returns
    -------
    argparse.ArgumentParser
        One subparser per entry of :data:`COMMANDS`, or the one command's options.
    """
    from .. import __version__

    fmt = argparse.RawDescriptionHelpFormatter
    if command is not None:
        parser = argparse.ArgumentParser(prog=prog, description=COMMANDS[command].__doc__, formatter_class=fmt)
        COMMANDS[command].add_arguments(parser)
        parser.set_defaults(command=command)
        return parser
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0], formatter_class=fmt)
    parser.add_argument("--version", action="version", version=f"spikedcl {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, module in COMMANDS.items():
        doc = module.__doc__ or ""
        child = sub.add_parser(name, help=doc.split("\n\n")[0].strip().rstrip("."), description=doc,
                               formatter_class=fmt)
        module.add_arguments(child)
    return parser


def _show_warning(message, category, filename, lineno, file=None, line=None):
    """Warnings of the run as one line each (``warning: ...``), without the source line that raised them."""
    print(f"warning: {message}", file=sys.stderr if file is None else file)


def main(argv: Sequence[str] | None = None, *, prog: str = "spikedcl", command: str | None = None) -> int:
    """Run the ``spikedcl`` command; returns its exit code.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments after the program name (default ``sys.argv[1:]``).
    prog : str, default="spikedcl"
        The program name, in help and in the command recorded with a sweep's results.
    command : str, optional
        Run this subcommand with ``argv`` as its options (``prog`` is then the
        whole command, such as ``python simulations/sweep.py``).

    Returns
    -------
    int
        0 success, 1 some cells failed, 2 bad configuration or arguments,
        128 + N after signal N.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(prog, command)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version (0) and usage errors (2)
        return int(exc.code or 0)
    args.argv = argv
    return COMMANDS[args.command].run(args, prog)


def console(argv: Sequence[str] | None = None, *, prog: str = "spikedcl", command: str | None = None) -> None:
    """Entry point of the console script: :func:`main` with one-line warnings, then exit.

    Parameters
    ----------
    argv : sequence of str, optional
        The arguments (default ``sys.argv[1:]``).
    prog : str, default="spikedcl"
        The program name.
    command : str, optional
        One subcommand to run (as :func:`main`).
    """
    warnings.showwarning = _show_warning
    try:
        code = main(argv, prog=prog, command=command)
    except KeyboardInterrupt:  # before a command handles it (imports) or after (printing)
        print("\ninterrupted", file=sys.stderr)
        code = 130
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the run is over: a late Ctrl-C must not change its exit code
    sys.exit(code)
