file(REMOVE_RECURSE
  "CMakeFiles/vkattn_volk.dir/usr/include/volk.c.o"
  "CMakeFiles/vkattn_volk.dir/usr/include/volk.c.o.d"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/vkattn_volk.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
