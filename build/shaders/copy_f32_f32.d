/work/main/build/shaders/copy_f32_f32.inc: /work/main/shaders/copy.comp /work/main/shaders/common.glsl
