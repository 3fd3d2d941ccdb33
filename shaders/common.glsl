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

// x and y (bindings 0 and 1, of STORE_T) also seen 4 elements at a time, for the vec4 paths of the row kernels
// (softmax.comp, alibi.comp): define XY_VEC4_VIEWS before including this file.
#if defined(XY_VEC4_VIEWS)
#if defined(DTYPE_F16)
layout(set = 0, binding = 0) readonly buffer XBuf4 { f16vec4 x4[]; };
layout(set = 0, binding = 1) writeonly buffer YBuf4 { f16vec4 y4[]; };
#define STORE4_T f16vec4
#else
layout(set = 0, binding = 0) readonly buffer XBuf4 { vec4 x4[]; };
layout(set = 0, binding = 1) writeonly buffer YBuf4 { vec4 y4[]; };
#define STORE4_T vec4
#endif
#endif

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

// The rows [first, end) of this workgroup when each takes per_group consecutive rows from row_base.
uvec2 group_row_range(uint groups_x, uint row_base, uint per_group, uint rows)
{
    uint first = row_base + flat_group(groups_x) * per_group;
    return uvec2(first, min(first + per_group, rows));
}

// Coordinates (i0, i1, i2) of row r over the first three dims of shape: divisions, so once per walk of rows (on CPU
// devices a vector division runs lane by lane).
uvec3 row_coords(uint r, uvec4 shape)
{
    return uvec3(r / (shape.y * shape.z), (r / shape.z) % shape.y, r % shape.z);
}

// The coordinates of the row after c, without division.
uvec3 next_row(uvec3 c, uvec4 shape)
{
    c.z++;
    bool wrap_z = c.z == shape.z;
    c.z = wrap_z ? 0u : c.z;
    c.y += wrap_z ? 1u : 0u;
    bool wrap_y = c.y == shape.y;
    c.y = wrap_y ? 0u : c.y;
    c.x += wrap_y ? 1u : 0u;
    return c;
}

// Element offset of the first element of the row at coordinates c.
uint coords_offset(uvec3 c, uvec4 stride)
{
    return c.x * stride.x + c.y * stride.y + c.z * stride.z;
}

// Index of this invocation in a 1D index space of one invocation per item, the dispatch starting at item `base`.
uint flat_index(uint groups_x, uint base)
{
    return base + flat_group(groups_x) * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
}
