# Empty compiler generated dependencies file for vkattn_volk.
# This may be replaced when dependencies are built.
