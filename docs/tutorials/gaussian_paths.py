# %% [markdown]
# # gaussian_paths

# %%
print(1)
