
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/cli/cmd_devices.c" "CMakeFiles/vkattn_cli.dir/cli/cmd_devices.c.o" "gcc" "CMakeFiles/vkattn_cli.dir/cli/cmd_devices.c.o.d"
  "/work/main/cli/cmd_run.c" "CMakeFiles/vkattn_cli.dir/cli/cmd_run.c.o" "gcc" "CMakeFiles/vkattn_cli.dir/cli/cmd_run.c.o.d"
  "/work/main/cli/main.c" "CMakeFiles/vkattn_cli.dir/cli/main.c.o" "gcc" "CMakeFiles/vkattn_cli.dir/cli/main.c.o.d"
  "/work/main/cli/npy.c" "CMakeFiles/vkattn_cli.dir/cli/npy.c.o" "gcc" "CMakeFiles/vkattn_cli.dir/cli/npy.c.o.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  "/work/main/build/CMakeFiles/vkattn_static.dir/DependInfo.cmake"
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
