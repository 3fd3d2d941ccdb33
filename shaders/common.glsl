// common.glsl - helpers shared by the compute shaders. Every shader has its workgroup size x as specialization
// constant 0 (chosen per device by the Vulkan backend) and walks a 1D index space laid over a 2D dispatch grid, so
// work larger than maxComputeWorkGroupCount[0] still fits: the host splits it into groups_x columns.

// Declared here, before any use: glslang gives gl_WorkGroupSize the default (1, 1, 1) in code above the declaration.
layout(local_size_x_id = 0) in;

// Storage types are picked with -D defines: DTYPE_F32 / DTYPE_F16 for ops with one dtype, SRC_* and DST_* for copy.
#if defined(DTYPE_F16)
#define STORE_T float16_t
#elif defined(DTYPE_F32)
#define STORE_T float
#endif

#define NEG_INF uintBitsToFloat(0xff800000u)

// Index of this workgroup in the flattened grid.
uint flat_group(uint groups_x)
{
    return gl_WorkGroupID.y * groups_x + gl_WorkGroupID.x;
}

// Element offset of index i (row-major over shape) in a tensor with the given strides.
uint strided_offset(uint i, uvec4 shape, uvec4 stride)
{
    uint i3 = i % shape.w;
    i /= shape.w;
    uint i2 = i % shape.z;
    i /= shape.z;
    uint i1 = i % shape.y;
    uint i0 = i / shape.y;
    return i0 * stride.x + i1 * stride.y + i2 * stride.z + i3 * stride.w;
}

// Offset of the first element of row r (rows run over dims 0..2, the row is dim 3).
uint row_offset(uint r, uvec4 shape, uvec4 stride)
{
    return strided_offset(r * shape.w, shape, stride);
}

// Index of this invocation in a 1D index space of one invocation per item, the dispatch starting at item `base`.
uint flat_index(uint groups_x, uint base)
{
    return base + flat_group(groups_x) * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
}
