# libFuzzer targets (VKATTN_FUZZ=ON, clang only): fuzz/fuzz_npy.c (the CLI's .npy reader) and fuzz/fuzz_desc.c
# (op descs and tensor shapes on the CPU backend). They link their own copy of the library objects, built with
# coverage instrumentation and AddressSanitizer + UndefinedBehaviorSanitizer, so the other targets of the build tree
# keep their flags; scripts/fuzz.sh builds only these two targets and runs them over fuzz/corpus/.

if(NOT CMAKE_C_COMPILER_ID MATCHES "Clang")
  message(FATAL_ERROR "vkattn: VKATTN_FUZZ needs clang (libFuzzer); configure with -DCMAKE_C_COMPILER=clang")
endif()

# Any UBSan finding stops the run like a crash instead of printing and going on.
set(VKATTN_FUZZ_FLAGS -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)

add_library(vkattn_fuzz_objects OBJECT ${VKATTN_LIB_SOURCES} ${VKATTN_SHADER_SOURCES})
vkattn_warnings(vkattn_fuzz_objects)
target_compile_definitions(vkattn_fuzz_objects PRIVATE VK_NO_PROTOTYPES VKATTN_BUILDING)
target_include_directories(vkattn_fuzz_objects
  PUBLIC "${PROJECT_SOURCE_DIR}/include"
  PRIVATE "${PROJECT_SOURCE_DIR}/src" "${VKATTN_GENERATED_DIR}" "${VKATTN_VOLK_INCLUDE_DIR}")
target_link_libraries(vkattn_fuzz_objects PRIVATE Vulkan::Headers)
target_compile_options(vkattn_fuzz_objects PRIVATE -fsanitize=fuzzer-no-link ${VKATTN_FUZZ_FLAGS})

foreach(target fuzz_npy fuzz_desc)
  add_executable(${target} "${PROJECT_SOURCE_DIR}/fuzz/${target}.c"
                 $<TARGET_OBJECTS:vkattn_fuzz_objects> $<TARGET_OBJECTS:vkattn_volk>)
  vkattn_warnings(${target})
  target_include_directories(${target} PRIVATE "${PROJECT_SOURCE_DIR}/include")
  target_compile_options(${target} PRIVATE -fsanitize=fuzzer ${VKATTN_FUZZ_FLAGS})
  target_link_options(${target} PRIVATE -fsanitize=fuzzer ${VKATTN_FUZZ_FLAGS})
  target_link_libraries(${target} PRIVATE ${VKATTN_SYSTEM_LIBS})
  set_target_properties(${target} PROPERTIES RUNTIME_OUTPUT_DIRECTORY "${PROJECT_BINARY_DIR}/fuzz")
endforeach()

# The reader is the CLI's own file, compiled unchanged with the same instrumentation as the library.
target_sources(fuzz_npy PRIVATE "${PROJECT_SOURCE_DIR}/cli/npy.c")
target_include_directories(fuzz_npy PRIVATE "${PROJECT_SOURCE_DIR}/cli")
