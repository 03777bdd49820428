"""heecon.params: parameter distributions, random streams and PSA draws.

>>> from heecon.params import parse_distribution, draw_parameters
>>> d = parse_distribution({"type": "beta", "mean": 0.56, "se": 0.02}, where="parameters.u_pd.distribution")
>>> d.describe()
'Beta(α=344, β=271)'
>>> draws = draw_parameters({"u_pd": d}, [], n=1000, seed=0)
>>> draws.values.shape
(1000, 1)

See ``docs/distributions.md``.
"""

from .distributions import (
    Beta,
    Distribution,
    DistributionError,
    Fixed,
    Gamma,
    LogNormal,
    Normal,
    SalibEntry,
    Triangular,
    TruncNormal,
    Uniform,
)
from .empirical import Empirical
from .joints import (
    JOINT_TYPES,
    Dirichlet,
    GaussianCopula,
    JointSpec,
    MultivariateNormal,
    check_correlation_matrix,
    parse_joint,
)
from .parse import DISTRIBUTION_TYPES, parse_distribution
from .sampling import STREAMS, Draws, draw_parameters, salib_problem, stream_rng, stream_seed, validate_joints

__all__ = [
    "DISTRIBUTION_TYPES",
    "JOINT_TYPES",
    "STREAMS",
    "Beta",
    "Dirichlet",
    "Distribution",
    "DistributionError",
    "Draws",
    "Empirical",
    "Fixed",
    "Gamma",
    "GaussianCopula",
    "JointSpec",
    "LogNormal",
    "MultivariateNormal",
    "Normal",
    "SalibEntry",
    "Triangular",
    "TruncNormal",
    "Uniform",
    "check_correlation_matrix",
    "draw_parameters",
    "parse_distribution",
    "parse_joint",
    "salib_problem",
    "stream_rng",
    "stream_seed",
    "validate_joints",
]
