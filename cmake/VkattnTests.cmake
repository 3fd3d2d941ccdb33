# Tests: every tests/test_*.c is one Check program (with the helpers tests/common.c and tests/pe_ref.c) in
# <build>/tests, registered with ctest under its file name. scripts/valgrind.sh reruns the same programs under
# valgrind (see VKATTN_VALGRIND_CONFIG).

enable_testing()
find_package(PkgConfig REQUIRED)
pkg_check_modules(CHECK REQUIRED IMPORTED_TARGET check)

file(GLOB VKATTN_TEST_SOURCES CONFIGURE_DEPENDS "${PROJECT_SOURCE_DIR}/tests/test_*.c")
if(NOT VKATTN_BUILD_CLI)
  # test_cli.c runs the vkattn program (VKATTN_CLI_PATH); without the program there is nothing for it to test.
  list(FILTER VKATTN_TEST_SOURCES EXCLUDE REGEX "/test_cli\\.c$")
endif()
# Helpers every program links: common.c (contexts, transfers, metrics), pe_ref.c (positional-encoding plumbing) and
# attn_ref.c (float64 masking, softmax and ALiBi slopes of the attention suites).
set(VKATTN_TEST_COMMON "${PROJECT_SOURCE_DIR}/tests/common.c" "${PROJECT_SOURCE_DIR}/tests/pe_ref.c"
    "${PROJECT_SOURCE_DIR}/tests/attn_ref.c")
foreach(helper IN LISTS VKATTN_TEST_COMMON)
  if(VKATTN_TEST_SOURCES AND NOT EXISTS "${helper}")
    message(FATAL_ERROR "vkattn: ${helper} is missing; every tests/test_*.c program links it")
  endif()
endforeach()

# The valgrind copies of the tests exist only under `ctest -C valgrind`, so a plain `ctest` stays fast.
set(VKATTN_VALGRIND_CONFIG valgrind)
find_program(VKATTN_VALGRIND valgrind)

foreach(test_src IN LISTS VKATTN_TEST_SOURCES)
  get_filename_component(test_name "${test_src}" NAME_WE)
  add_executable(${test_name} "${test_src}" ${VKATTN_TEST_COMMON})
  vkattn_warnings(${test_name})
  target_include_directories(${test_name} PRIVATE
    "${PROJECT_SOURCE_DIR}/include" "${PROJECT_SOURCE_DIR}/src"
    "${VKATTN_GENERATED_DIR}" "${VKATTN_VOLK_INCLUDE_DIR}")
  target_compile_definitions(${test_name} PRIVATE VK_NO_PROTOTYPES "VKATTN_SOURCE_DIR=\"${PROJECT_SOURCE_DIR}\"")
  if(VKATTN_BUILD_CLI)
    target_compile_definitions(${test_name} PRIVATE "VKATTN_CLI_PATH=\"$<TARGET_FILE:vkattn_cli>\"")
    add_dependencies(${test_name} vkattn_cli)
  endif()
  target_link_libraries(${test_name} PRIVATE vkattn_static PkgConfig::CHECK Vulkan::Headers)
  if(TARGET vkattn_bench)
    target_link_libraries(${test_name} PRIVATE vkattn_bench) # test_report and test_bench use the writers
  endif()
  set_target_properties(${test_name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY "${PROJECT_BINARY_DIR}/tests")

  add_test(NAME ${test_name} COMMAND ${test_name})
  set_tests_properties(${test_name} PROPERTIES TIMEOUT 600)

  if(VKATTN_VALGRIND)
    # CPU backend only (lavapipe's LLVM JIT is slow and noisy under valgrind); no fork, so valgrind sees the tests.
    add_test(NAME valgrind_${test_name} CONFIGURATIONS ${VKATTN_VALGRIND_CONFIG}
             COMMAND "${VKATTN_VALGRIND}" --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite
                     $<TARGET_FILE:${test_name}>)
    set_tests_properties(valgrind_${test_name} PROPERTIES
      TIMEOUT 600 LABELS valgrind ENVIRONMENT "VKATTN_TEST_BACKENDS=cpu;CK_FORK=no")
  endif()
endforeach()

# Kernels shape their work one way for CPU devices (lavapipe: one subgroup per workgroup, long loops) and another
# for GPUs (the fused attention kernel shares a row's dot products among invocations through shared memory; the row
# kernels of softmax, RoPE, sinusoidal and ALiBi take wider workgroups and one row each; the vec4 copy one item per
# invocation). VKATTN_TEST_GPU_BLOCKING=1 makes lavapipe take the GPU shapes, so those are verified here too.
foreach(suite IN ITEMS attention softmax rope sinusoidal alibi tensor)
  add_test(NAME test_${suite}_gpu_blocking COMMAND test_${suite})
  set_tests_properties(test_${suite}_gpu_blocking PROPERTIES
    TIMEOUT 600 ENVIRONMENT "VKATTN_TEST_GPU_BLOCKING=1;VKATTN_TEST_BACKENDS=vulkan")
endforeach()

include(cmake/VkattnApi.cmake)
