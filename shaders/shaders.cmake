# Every shader variant the library embeds: vkattn_shader(<variant name> <source under shaders/> [GLSL defines...]).
# The variant name is what the Vulkan backend looks up with vkattn__shader_find("<variant name>").
vkattn_shader(softmax_f32 softmax.comp DTYPE_F32)
vkattn_shader(softmax_f16 softmax.comp DTYPE_F16)
vkattn_shader(copy_f32_f32 copy.comp SRC_F32 DST_F32)
vkattn_shader(copy_f16_f16 copy.comp SRC_F16 DST_F16)
vkattn_shader(copy_f32_f16 copy.comp SRC_F32 DST_F16)
vkattn_shader(copy_f16_f32 copy.comp SRC_F16 DST_F32)
vkattn_shader(copy_i32_i32 copy.comp SRC_I32 DST_I32)
