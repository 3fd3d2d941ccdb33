file(REMOVE_RECURSE
  "CMakeFiles/test_cmd.dir/tests/common.c.o"
  "CMakeFiles/test_cmd.dir/tests/common.c.o.d"
  "CMakeFiles/test_cmd.dir/tests/test_cmd.c.o"
  "CMakeFiles/test_cmd.dir/tests/test_cmd.c.o.d"
  "tests/test_cmd"
  "tests/test_cmd.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_cmd.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
