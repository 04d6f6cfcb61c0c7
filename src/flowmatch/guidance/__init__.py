"""Guidance: classifier-free guidance of a class-conditional network, and density guidance."""

from flowmatch.guidance.classifier_free import GuidedVelocity, check_labels, drop_labels, null_labels
from flowmatch.guidance.density import DensityGuidedVelocity

__all__ = ["DensityGuidedVelocity", "GuidedVelocity", "check_labels", "drop_labels", "null_labels"]
