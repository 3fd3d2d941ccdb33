/work/main/build/shaders/copy_i32_i32.inc: /work/main/shaders/copy.comp /work/main/shaders/common.glsl
