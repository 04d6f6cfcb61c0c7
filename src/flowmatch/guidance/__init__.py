"""Guidance: classifier-free guidance of a class-conditional network, and density guidance."""

from flowmatch.guidance.classifier_free import GuidedVelocity, RowGuidedVelocity, apply_label_drop, check_labels, drop_labels, label_drop_mask, null_labels, rescale_guidance, takes_guidance
from flowmatch.guidance.density import DensityGuidedVelocity

__all__ = ["DensityGuidedVelocity", "GuidedVelocity", "RowGuidedVelocity", "apply_label_drop", "check_labels", "drop_labels", "label_drop_mask", "null_labels", "rescale_guidance", "takes_guidance"]
