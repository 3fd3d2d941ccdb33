# Empty dependencies file for vkattn_objects.
# This may be replaced when dependencies are built.
