# Empty dependencies file for vkattn_cli.
# This may be replaced when dependencies are built.
