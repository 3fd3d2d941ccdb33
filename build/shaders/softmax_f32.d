/work/main/build/shaders/softmax_f32.inc: /work/main/shaders/softmax.comp /work/main/shaders/common.glsl
