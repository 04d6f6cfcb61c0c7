# %% [markdown]
# # few_step

# %%
print(1)
