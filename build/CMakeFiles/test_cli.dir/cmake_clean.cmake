file(REMOVE_RECURSE
  "CMakeFiles/test_cli.dir/tests/common.c.o"
  "CMakeFiles/test_cli.dir/tests/common.c.o.d"
  "CMakeFiles/test_cli.dir/tests/test_cli.c.o"
  "CMakeFiles/test_cli.dir/tests/test_cli.c.o.d"
  "tests/test_cli"
  "tests/test_cli.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_cli.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
