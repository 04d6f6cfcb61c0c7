# %% [markdown]
# # couplings

# %%
print(1)
