"""Recipes: chains of runs (reflow, one-step distillation, the few-step recipe) and the demo."""

from flowmatch.recipes.few_step import IMAGE_DISTILL, IMAGE_SOLVER_STEPS, RECIPE_LR, RecipeConfig, few_step_recipe
from flowmatch.recipes.reflow import ReflowResult, make_pairs, make_paths, pair_labels, reflow, reflow_record, straightness

__all__ = ["IMAGE_DISTILL", "IMAGE_SOLVER_STEPS", "RECIPE_LR", "RecipeConfig", "ReflowResult", "few_step_recipe", "make_pairs", "make_paths", "pair_labels", "reflow", "reflow_record", "straightness"]
