"""Compatibility re-exports: the systems' sweep experiments live in :mod:`spikedcl.experiments.systems`.

Nothing is defined here. The module keeps ``"spikedcl.systems.experiments:NAME"``
in older configurations and ``from spikedcl.systems import experiments``
working; configurations name the experiments by their registered short names
(``experiment = "losses"``).
"""

from ..experiments.systems import *  # noqa: F403
from ..experiments.systems import __all__  # noqa: F401
