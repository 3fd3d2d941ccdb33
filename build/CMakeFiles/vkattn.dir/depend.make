# Empty dependencies file for vkattn.
# This may be replaced when dependencies are built.
