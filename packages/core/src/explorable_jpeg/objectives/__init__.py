"""Exploration objectives, one small module each (formula in each module's docstring).

Every objective sees the explorer's crop as a :class:`Region` and returns a differentiable
loss of the decoded RGB (or gray) output on [0, 1]; the explorer adds the preservation
term outside the selection and minimises over z.
"""

from .base import ExplorationError, Objective, Region, RegionError
from .dictionary import DictionaryObjective
from .digit import DigitObjective
from .hsv import HSVObjective
from .imprint import ImprintObjective
from .magnitude import MagnitudeObjective
from .periodicity import PeriodicityObjective
from .random_alternatives import RandomObjective
from .scribble import ScribbleObjective
from .target import TargetObjective
from .tv import TVObjective
from .variance import VarianceObjective

__all__ = [
    "DictionaryObjective",
    "DigitObjective",
    "ExplorationError",
    "HSVObjective",
    "ImprintObjective",
    "MagnitudeObjective",
    "Objective",
    "PeriodicityObjective",
    "RandomObjective",
    "Region",
    "RegionError",
    "ScribbleObjective",
    "TVObjective",
    "TargetObjective",
    "VarianceObjective",
]
