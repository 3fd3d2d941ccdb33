
# Consider dependencies only in project.
set(CMAKE_DEPENDS_IN_PROJECT_ONLY OFF)

# The set of languages for which implicit dependencies are needed:
set(CMAKE_DEPENDS_LANGUAGES
  )

# The set of dependency files which are needed:
set(CMAKE_DEPENDS_DEPENDENCY_FILES
  "/work/main/build/shaders/vkattn_shaders.c" "CMakeFiles/vkattn_objects.dir/shaders/vkattn_shaders.c.o" "gcc" "CMakeFiles/vkattn_objects.dir/shaders/vkattn_shaders.c.o.d"
  "/work/main/src/core/checked.c" "CMakeFiles/vkattn_objects.dir/src/core/checked.c.o" "gcc" "CMakeFiles/vkattn_objects.dir/src/core/checked.c.o.d"
  "/work/main/src/core/cmd.c" "CMakeFiles/vkattn_objects.dir/src/core/cmd.c.o" "gcc" "CMakeFiles/vkattn_objects.dir/src/core/cmd.c.o.d"
  "/work/main/src/core/context.c" "CMakeFiles/vkattn_objects.dir/src/core/context.c.o" "gcc" "CMakeFiles/vkattn_objects.dir/src/core/context.c.o.d"
  "/work/main/src/core/env.c" "CMakeFiles/vkattn_objects.dir/src/core/env.c.o" "gcc" "CMakeFiles/vkattn_objects.dir/src/core/env.c.o.d"
  "/work/main/src/core/error.c" "CMakeFiles/vkattn_objects.dir/src/core/error.c.o" "gcc" "CMakeFiles/vkattn_objects.dir/src/core/error.c.o.d"
  "/work/main/src/core/half.c" "CMakeFiles/vkattn_objects.dir/src/core/half.c.o" "gcc" "CMakeFiles/vkattn_objects.dir/src/core/half.c.o.d"
  "/work/main/src/core/layout.c" "CMakeFiles/vkattn_objects.dir/src/core/layout.c.o" "gcc" "CMakeFiles/vkattn_objects.dir/src/core/layout.c.o.d"
  "/work/main/src/core/pool.c" "CMakeFiles/vkattn_objects.dir/src/core/pool.c.o" "gcc" "CMakeFiles/vkattn_objects.dir/src/core/pool.c.o.d"
  "/work/main/src/core/result.c" "CMakeFiles/vkattn_objects.dir/src/core/result.c.o" "gcc" "CMakeFiles/vkattn_objects.dir/src/core/result.c.o.d"
  "/work/main/src/core/storage.c" "CMakeFiles/vkattn_objects.dir/src/core/storage.c.o" "gcc" "CMakeFiles/vkattn_objects.dir/src/core/storage.c.o.d"
  "/work/main/src/core/tensor.c" "CMakeFiles/vkattn_objects.dir/src/core/tensor.c.o" "gcc" "CMakeFiles/vkattn_objects.dir/src/core/tensor.c.o.d"
  "/work/main/src/core/tensor_io.c" "CMakeFiles/vkattn_objects.dir/src/core/tensor_io.c.o" "gcc" "CMakeFiles/vkattn_objects.dir/src/core/tensor_io.c.o.d"
  "/work/main/src/cpu/cpu_backend.c" "CMakeFiles/vkattn_objects.dir/src/cpu/cpu_backend.c.o" "gcc" "CMakeFiles/vkattn_objects.dir/src/cpu/cpu_backend.c.o.d"
  "/work/main/src/cpu/cpu_copy.c" "CMakeFiles/vkattn_objects.dir/src/cpu/cpu_copy.c.o" "gcc" "CMakeFiles/vkattn_objects.dir/src/cpu/cpu_copy.c.o.d"
  "/work/main/src/cpu/cpu_info.c" "CMakeFiles/vkattn_objects.dir/src/cpu/cpu_info.c.o" "gcc" "CMakeFiles/vkattn_objects.dir/src/cpu/cpu_info.c.o.d"
  "/work/main/src/cpu/cpu_softmax.c" "CMakeFiles/vkattn_objects.dir/src/cpu/cpu_softmax.c.o" "gcc" "CMakeFiles/vkattn_objects.dir/src/cpu/cpu_softmax.c.o.d"
  "/work/main/src/ops/copy.c" "CMakeFiles/vkattn_objects.dir/src/ops/copy.c.o" "gcc" "CMakeFiles/vkattn_objects.dir/src/ops/copy.c.o.d"
  "/work/main/src/ops/softmax.c" "CMakeFiles/vkattn_objects.dir/src/ops/softmax.c.o" "gcc" "CMakeFiles/vkattn_objects.dir/src/ops/softmax.c.o.d"
  "/work/main/src/ops/unary.c" "CMakeFiles/vkattn_objects.dir/src/ops/unary.c.o" "gcc" "CMakeFiles/vkattn_objects.dir/src/ops/unary.c.o.d"
  "/work/main/src/vulkan/vk_context.c" "CMakeFiles/vkattn_objects.dir/src/vulkan/vk_context.c.o" "gcc" "CMakeFiles/vkattn_objects.dir/src/vulkan/vk_context.c.o.d"
  "/work/main/src/vulkan/vk_device.c" "CMakeFiles/vkattn_objects.dir/src/vulkan/vk_device.c.o" "gcc" "CMakeFiles/vkattn_objects.dir/src/vulkan/vk_device.c.o.d"
  "/work/main/src/vulkan/vk_instance.c" "CMakeFiles/vkattn_objects.dir/src/vulkan/vk_instance.c.o" "gcc" "CMakeFiles/vkattn_objects.dir/src/vulkan/vk_instance.c.o.d"
  "/work/main/src/vulkan/vk_memory.c" "CMakeFiles/vkattn_objects.dir/src/vulkan/vk_memory.c.o" "gcc" "CMakeFiles/vkattn_objects.dir/src/vulkan/vk_memory.c.o.d"
  "/work/main/src/vulkan/vk_pipeline.c" "CMakeFiles/vkattn_objects.dir/src/vulkan/vk_pipeline.c.o" "gcc" "CMakeFiles/vkattn_objects.dir/src/vulkan/vk_pipeline.c.o.d"
  "/work/main/src/vulkan/vk_pipeline_cache.c" "CMakeFiles/vkattn_objects.dir/src/vulkan/vk_pipeline_cache.c.o" "gcc" "CMakeFiles/vkattn_objects.dir/src/vulkan/vk_pipeline_cache.c.o.d"
  "/work/main/src/vulkan/vk_result.c" "CMakeFiles/vkattn_objects.dir/src/vulkan/vk_result.c.o" "gcc" "CMakeFiles/vkattn_objects.dir/src/vulkan/vk_result.c.o.d"
  "/work/main/src/vulkan/vk_transfer.c" "CMakeFiles/vkattn_objects.dir/src/vulkan/vk_transfer.c.o" "gcc" "CMakeFiles/vkattn_objects.dir/src/vulkan/vk_transfer.c.o.d"
  "" "shaders/copy_f16_f16.inc" "custom" "shaders/copy_f16_f16.d"
  "" "shaders/copy_f16_f32.inc" "custom" "shaders/copy_f16_f32.d"
  "" "shaders/copy_f32_f16.inc" "custom" "shaders/copy_f32_f16.d"
  "" "shaders/copy_f32_f32.inc" "custom" "shaders/copy_f32_f32.d"
  "" "shaders/copy_i32_i32.inc" "custom" "shaders/copy_i32_i32.d"
  "" "shaders/softmax_f16.inc" "custom" "shaders/softmax_f16.d"
  "" "shaders/softmax_f32.inc" "custom" "shaders/softmax_f32.d"
  )

# Targets to which this target links.
set(CMAKE_TARGET_LINKED_INFO_FILES
  )

# Fortran module output directory.
set(CMAKE_Fortran_TARGET_MODULE_DIR "")
