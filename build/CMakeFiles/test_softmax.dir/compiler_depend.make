# Empty compiler generated dependencies file for test_softmax.
# This may be replaced when dependencies are built.
