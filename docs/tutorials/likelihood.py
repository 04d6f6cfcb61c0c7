# %% [markdown]
# # likelihood

# %%
print(1)
