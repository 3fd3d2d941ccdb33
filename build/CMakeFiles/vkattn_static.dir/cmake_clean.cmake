file(REMOVE_RECURSE
  "libvkattn_static.a"
  "libvkattn_static.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/vkattn_static.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
