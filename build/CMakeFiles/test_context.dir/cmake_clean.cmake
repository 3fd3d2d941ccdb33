file(REMOVE_RECURSE
  "CMakeFiles/test_context.dir/tests/common.c.o"
  "CMakeFiles/test_context.dir/tests/common.c.o.d"
  "CMakeFiles/test_context.dir/tests/test_context.c.o"
  "CMakeFiles/test_context.dir/tests/test_context.c.o.d"
  "tests/test_context"
  "tests/test_context.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_context.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
