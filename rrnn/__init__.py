"""rrnn: high-performance simulation of binary recurrent neural networks.

Main entry points::

    import rrnn
    J = rrnn.couplings.binary(n, seed=0)          # +-1/sqrt(n), one bit per weight
    res = rrnn.simulate(J, s0, self_coupling=0.5)
    rrnn.count_fixed_points(J, self_coupling=0.5)  # exhaustive, small n
    rrnn.show_config()
"""

from . import couplings, datasets, hopfield, random
from .config import config, show_config
from .dynamics import SimulationResult, local_fields, simulate, sync_step
from .mlcm import MLCM
from .perceptron import Perceptron
from .self_coupling import critical_self_coupling
from .fixed_points import (annealed_entropy, annealed_fixed_points, annealed_log_fixed_points,
                           count_fixed_points)

__all__ = [
    "couplings", "datasets", "hopfield", "random", "MLCM", "Perceptron", "config", "show_config",
    "simulate", "local_fields", "sync_step",
    "SimulationResult", "count_fixed_points", "annealed_fixed_points", "annealed_log_fixed_points",
    "annealed_entropy", "critical_self_coupling",
]

__version__ = "0.1.0"
