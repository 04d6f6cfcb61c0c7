"""Recipes: chains of runs (reflow, one-step distillation, the few-step recipe) and the demo."""

from flowmatch.recipes.few_step import IMAGE_DISTILL, IMAGE_SOLVER_STEPS, RECIPE_FOURIER_FEATURES, RECIPE_LR, RECIPE_OT_BLOCK, RecipeConfig, few_step_recipe, image_stages, recipe_defaults
from flowmatch.recipes.reflow import ReflowResult, distillation, make_pairs, make_paths, pair_labels, reflow, reflow_record, straightness

__all__ = [
    "IMAGE_DISTILL",
    "IMAGE_SOLVER_STEPS",
    "RECIPE_FOURIER_FEATURES",
    "RECIPE_LR",
    "RECIPE_OT_BLOCK",
    "RecipeConfig",
    "ReflowResult",
    "distillation",
    "few_step_recipe",
    "image_stages",
    "recipe_defaults",
    "make_pairs",
    "make_paths",
    "pair_labels",
    "reflow",
    "reflow_record",
    "straightness",
]
