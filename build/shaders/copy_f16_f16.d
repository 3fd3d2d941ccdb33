/work/main/build/shaders/copy_f16_f16.inc: /work/main/shaders/copy.comp /work/main/shaders/common.glsl
