"""``python -m spikedcl``: the ``spikedcl`` command (:mod:`spikedcl.cli`)."""

from spikedcl.cli import console

if __name__ == "__main__":
    console(prog="python -m spikedcl")
