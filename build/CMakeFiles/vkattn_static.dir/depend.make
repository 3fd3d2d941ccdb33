# Empty dependencies file for vkattn_static.
# This may be replaced when dependencies are built.
