# %% [markdown]
# # classifier_free_guidance

# %%
print(1)
