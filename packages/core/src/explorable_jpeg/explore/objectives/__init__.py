"""Exploration objectives, one small module each (formula in each module's docstring).

Every objective sees the explorer's crop as a :class:`Region` and returns a differentiable
loss of the decoded RGB (or gray) output on [0, 1]; the explorer adds the preservation
term outside the selection and minimises over z.
"""

from explorable_jpeg.explore.objectives.base import ExplorationError, Objective, Region, RegionError
from explorable_jpeg.explore.objectives.dictionary import DictionaryObjective
from explorable_jpeg.explore.objectives.digit import DigitObjective
from explorable_jpeg.explore.objectives.hsv import HSVObjective
from explorable_jpeg.explore.objectives.imprint import ImprintObjective
from explorable_jpeg.explore.objectives.magnitude import MagnitudeObjective
from explorable_jpeg.explore.objectives.periodicity import PeriodicityObjective
from explorable_jpeg.explore.objectives.random_alternatives import RandomObjective
from explorable_jpeg.explore.objectives.scribble import ScribbleObjective
from explorable_jpeg.explore.objectives.target import TargetObjective
from explorable_jpeg.explore.objectives.tv import TVObjective
from explorable_jpeg.explore.objectives.variance import VarianceObjective

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
