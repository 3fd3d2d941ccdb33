file(REMOVE_RECURSE
  "CMakeFiles/test_pipeline_cache.dir/tests/common.c.o"
  "CMakeFiles/test_pipeline_cache.dir/tests/common.c.o.d"
  "CMakeFiles/test_pipeline_cache.dir/tests/test_pipeline_cache.c.o"
  "CMakeFiles/test_pipeline_cache.dir/tests/test_pipeline_cache.c.o.d"
  "tests/test_pipeline_cache"
  "tests/test_pipeline_cache.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/test_pipeline_cache.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
