file(REMOVE_RECURSE
  "CMakeFiles/vkattn_cli.dir/cli/cmd_devices.c.o"
  "CMakeFiles/vkattn_cli.dir/cli/cmd_devices.c.o.d"
  "CMakeFiles/vkattn_cli.dir/cli/cmd_run.c.o"
  "CMakeFiles/vkattn_cli.dir/cli/cmd_run.c.o.d"
  "CMakeFiles/vkattn_cli.dir/cli/main.c.o"
  "CMakeFiles/vkattn_cli.dir/cli/main.c.o.d"
  "CMakeFiles/vkattn_cli.dir/cli/npy.c.o"
  "CMakeFiles/vkattn_cli.dir/cli/npy.c.o.d"
  "vkattn"
  "vkattn.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/vkattn_cli.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
