# Empty compiler generated dependencies file for test_pipeline_cache.
# This may be replaced when dependencies are built.
