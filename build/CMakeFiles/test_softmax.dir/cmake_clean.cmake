file(REMOVE_RECURSE
  "CMakeFiles/test_softmax.dir/tests/common.c.o"
  "CMakeFiles/test_softmax.dir/tests/common.c.o.d"
  "CMakeFiles/test_softmax.dir/tests/test_softmax.c.o"
  "CMakeFiles/test_softmax.dir/tests/test_softmax.c.o.d"
  "tests/test_softmax"
  "tests/test_softmax.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_softmax.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
