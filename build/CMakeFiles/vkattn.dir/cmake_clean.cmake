file(REMOVE_RECURSE
  "libvkattn.pdb"
  "libvkattn.so"
  "libvkattn.so.0"
  "libvkattn.so.0.1.0"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/vkattn.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
