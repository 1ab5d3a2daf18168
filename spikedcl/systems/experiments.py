"""Former home of the systems' sweep experiments, now in :mod:`spikedcl.experiments.systems`.

Re-exported here so that ``"spikedcl.systems.experiments:NAME"`` in a
configuration and ``from spikedcl.systems import experiments`` keep working;
configurations name them by their registered short names (``experiment =
"losses"``).
"""

from ..experiments.systems import *  # noqa: F401,F403
from ..experiments.systems import __all__  # noqa: F401
