# %% [markdown]
# # diffusion_to_flow_matching

# %%
print(1)
