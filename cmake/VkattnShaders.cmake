# Shader build: every vkattn_shader() line of shaders/shaders.cmake becomes one SPIR-V module, compiled by glslc into
# the build tree, checked by spirv-val, and embedded as a uint32_t array in the generated vkattn_shaders.c.
#
# Per variant <name> (all under ${VKATTN_SHADER_DIR}, i.e. <build>/shaders):
#   <name>.spv  binary module, the one spirv-val checks
#   <name>.inc  the same module as comma-separated words (glslc -mfmt=num), #included by vkattn_shaders.c
#   <name>.d    make-style dependency list written by glslc, so editing an #included shaders/*.glsl rebuilds
# One custom command does all three steps in order, so a module that fails validation never reaches the library:
# <name>.inc is written last, and a failed step leaves it missing or older than its sources, so the next build retries.
#
# Result for the caller: VKATTN_SHADER_SOURCES (generated .c plus the .inc outputs, to add to the library),
# VKATTN_GENERATED_DIR (holds vkattn_shaders.h) and VKATTN_SHADER_DIR.

find_program(VKATTN_GLSLC glslc)
find_program(VKATTN_SPIRV_VAL spirv-val)
if(NOT VKATTN_GLSLC)
  message(FATAL_ERROR "vkattn: glslc not found; it compiles shaders/*.comp (Debian: apt-get install glslc, "
                      "or run scripts/install-deps.sh)")
endif()
if(NOT VKATTN_SPIRV_VAL)
  message(FATAL_ERROR "vkattn: spirv-val not found; it validates every shader module (Debian: apt-get install "
                      "spirv-tools, or run scripts/install-deps.sh)")
endif()

set(VKATTN_SHADER_SRC_DIR "${PROJECT_SOURCE_DIR}/shaders")
set(VKATTN_SHADER_DIR "${PROJECT_BINARY_DIR}/shaders")
set(VKATTN_GENERATED_DIR "${PROJECT_BINARY_DIR}/generated")
file(MAKE_DIRECTORY "${VKATTN_SHADER_DIR}" "${VKATTN_GENERATED_DIR}")

# Baseline of ARCHITECTURE.md: Vulkan 1.1 (SPIR-V 1.3), so every module loads on any 1.1 device.
set(VKATTN_SHADER_TARGET_ENV vulkan1.1)

set(VKATTN_SHADER_NAMES "")
set(VKATTN_SHADER_INCS "")

# vkattn_shader(<name> <source> [DEFINE...]): variant <name> (a C identifier, looked up with vkattn__shader_find)
# compiled from shaders/<source> with -D<DEFINE> for each define.
function(vkattn_shader name source)
  if(NOT name MATCHES "^[A-Za-z_][A-Za-z0-9_]*$")
    message(FATAL_ERROR "shaders/shaders.cmake: shader name '${name}' must be a C identifier")
  endif()
  if(name IN_LIST VKATTN_SHADER_NAMES)
    message(FATAL_ERROR "shaders/shaders.cmake: shader name '${name}' is listed twice")
  endif()
  set(src "${VKATTN_SHADER_SRC_DIR}/${source}")
  if(NOT EXISTS "${src}")
    message(FATAL_ERROR "shaders/shaders.cmake: shader '${name}': source shaders/${source} does not exist")
  endif()

  set(flags "--target-env=${VKATTN_SHADER_TARGET_ENV}" -O)
  foreach(def IN LISTS ARGN)
    list(APPEND flags "-D${def}")
  endforeach()
  set(spv "${VKATTN_SHADER_DIR}/${name}.spv")
  set(inc "${VKATTN_SHADER_DIR}/${name}.inc")
  set(dep "${VKATTN_SHADER_DIR}/${name}.d")
  list(JOIN ARGN " " def_text)

  add_custom_command(
    OUTPUT "${inc}"
    BYPRODUCTS "${spv}"
    COMMAND "${VKATTN_GLSLC}" ${flags} -o "${spv}" "${src}"
    COMMAND "${VKATTN_SPIRV_VAL}" --target-env "${VKATTN_SHADER_TARGET_ENV}" "${spv}"
    COMMAND "${VKATTN_GLSLC}" ${flags} -mfmt=num -MD -MF "${dep}" -MT "${inc}" -o "${inc}" "${src}"
    MAIN_DEPENDENCY "${src}"
    DEPENDS "${VKATTN_SHADER_SRC_DIR}/shaders.cmake"
    DEPFILE "${dep}"
    COMMENT "Shader ${name}: glslc shaders/${source} ${def_text}, spirv-val"
    VERBATIM)

  set(VKATTN_SHADER_NAMES ${VKATTN_SHADER_NAMES} "${name}" PARENT_SCOPE)
  set(VKATTN_SHADER_INCS ${VKATTN_SHADER_INCS} "${inc}" PARENT_SCOPE)
endfunction()

include("${VKATTN_SHADER_SRC_DIR}/shaders.cmake")

list(LENGTH VKATTN_SHADER_NAMES shader_count)
if(shader_count EQUAL 0)
  message(FATAL_ERROR "shaders/shaders.cmake declares no shader; vkattn_shaders.c needs at least one")
endif()

# Text blocks substituted into cmake/vkattn_shaders.c.in.
set(VKATTN_SHADER_ARRAYS "")
set(VKATTN_SHADER_TABLE "")
foreach(name IN LISTS VKATTN_SHADER_NAMES)
  string(APPEND VKATTN_SHADER_ARRAYS "static const uint32_t vkattn__spv_${name}[] = {\n#include \"${name}.inc\"\n};\n\n")
  string(APPEND VKATTN_SHADER_TABLE "    {\"${name}\", vkattn__spv_${name}, sizeof vkattn__spv_${name}},\n")
endforeach()
string(STRIP "${VKATTN_SHADER_ARRAYS}" VKATTN_SHADER_ARRAYS)
string(STRIP "${VKATTN_SHADER_TABLE}" VKATTN_SHADER_TABLE)

# configure_file rewrites only on change, so a reconfigure does not recompile the embedded modules.
configure_file("${CMAKE_CURRENT_LIST_DIR}/vkattn_shaders.h.in" "${VKATTN_GENERATED_DIR}/vkattn_shaders.h" @ONLY)
# The .c sits next to the .inc files: its quoted #includes find them without another include path.
configure_file("${CMAKE_CURRENT_LIST_DIR}/vkattn_shaders.c.in" "${VKATTN_SHADER_DIR}/vkattn_shaders.c" @ONLY)
set_source_files_properties("${VKATTN_SHADER_DIR}/vkattn_shaders.c" PROPERTIES OBJECT_DEPENDS "${VKATTN_SHADER_INCS}")

set(VKATTN_SHADER_SOURCES "${VKATTN_SHADER_DIR}/vkattn_shaders.c" ${VKATTN_SHADER_INCS})
