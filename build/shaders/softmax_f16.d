/work/main/build/shaders/softmax_f16.inc: /work/main/shaders/softmax.comp /work/main/shaders/common.glsl
