# %% [markdown]
# # density_guidance

# %%
print(1)
