/*
 * vk_pipeline.c - compute pipelines, built on first use from the embedded SPIR-V of a shader variant and kept for
 * the context's lifetime. A pipeline is named by its variant and its specialization constants: the workgroup size
 * (constant 0, `layout(local_size_x_id = 0) in;` in every shader) and the shader's own (tile shapes, head_dim ...,
 * ids 1..n), so an op may pick them per device or per call.
 */
#include "vulkan/vk_internal.h"

#include "vkattn_shaders.h"

#include <stdlib.h>
#include <string.h>

/* 256 invocations keep a wide GPU busy per workgroup and are allowed nearly everywhere (the guaranteed minimum of
 * maxComputeWorkGroupInvocations is 128). */
uint32_t vkattn__vk_workgroup_size(const vkattn_context *ctx, uint32_t preferred,
                                   uint32_t shared_bytes_per_invocation)
{
    const VkPhysicalDeviceLimits *l = &vkattn__vk(ctx)->limits;
    uint32_t wg = preferred ? preferred : 256;
    if (wg > l->maxComputeWorkGroupInvocations)
        wg = l->maxComputeWorkGroupInvocations;
    if (wg > l->maxComputeWorkGroupSize[0])
        wg = l->maxComputeWorkGroupSize[0];
    if (shared_bytes_per_invocation && wg > l->maxComputeSharedMemorySize / shared_bytes_per_invocation)
        wg = l->maxComputeSharedMemorySize / shared_bytes_per_invocation;
    return wg ? wg : 1;
}

static void pipeline_free(const vkattn_context *ctx, vkattn__vk_pipeline *p)
{
    const vkattn__vk_context *vk = vkattn__vk(ctx);
    if (p->pipeline)
        vk->fn.vkDestroyPipeline(vk->device, p->pipeline, NULL);
    if (p->layout)
        vk->fn.vkDestroyPipelineLayout(vk->device, p->layout, NULL);
    if (p->set_layout)
        vk->fn.vkDestroyDescriptorSetLayout(vk->device, p->set_layout, NULL);
    free(p);
}

static VkResult create_layouts(const vkattn__vk_context *vk, vkattn__vk_pipeline *p, const char **call)
{
    VkDescriptorSetLayoutBinding bindings[VKATTN__VK_MAX_BINDINGS];
    for (uint32_t i = 0; i < p->n_bindings; i++)
        bindings[i] = (VkDescriptorSetLayoutBinding){
            .binding = i,
            .descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER,
            .descriptorCount = 1,
            .stageFlags = VK_SHADER_STAGE_COMPUTE_BIT,
        };
    VkDescriptorSetLayoutCreateInfo set_info = {
        .sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO,
        .bindingCount = p->n_bindings,
        .pBindings = bindings,
    };
    *call = "vkCreateDescriptorSetLayout";
    VkResult res = vk->fn.vkCreateDescriptorSetLayout(vk->device, &set_info, NULL, &p->set_layout);
    if (res != VK_SUCCESS)
        return res;
    VkPushConstantRange push = {.stageFlags = VK_SHADER_STAGE_COMPUTE_BIT, .offset = 0, .size = p->push_size};
    VkPipelineLayoutCreateInfo layout_info = {
        .sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO,
        .setLayoutCount = 1,
        .pSetLayouts = &p->set_layout,
        .pushConstantRangeCount = p->push_size ? 1u : 0u,
        .pPushConstantRanges = &push,
    };
    *call = "vkCreatePipelineLayout";
    return vk->fn.vkCreatePipelineLayout(vk->device, &layout_info, NULL, &p->layout);
}

static VkResult create_pipeline(const vkattn__vk_context *vk, const vkattn__spirv *spirv, vkattn__vk_pipeline *p,
                                const char **call)
{
    VkShaderModuleCreateInfo module_info = {
        .sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO,
        .codeSize = spirv->size,
        .pCode = spirv->code,
    };
    VkShaderModule module;
    *call = "vkCreateShaderModule";
    VkResult res = vk->fn.vkCreateShaderModule(vk->device, &module_info, NULL, &module);
    if (res != VK_SUCCESS)
        return res;
    VkSpecializationMapEntry entries[VKATTN__VK_MAX_SPEC];
    for (uint32_t i = 0; i < p->n_spec; i++)
        entries[i] = (VkSpecializationMapEntry){i, i * (uint32_t)sizeof(uint32_t), sizeof(uint32_t)};
    VkSpecializationInfo spec = {
        .mapEntryCount = p->n_spec,
        .pMapEntries = entries,
        .dataSize = p->n_spec * sizeof(uint32_t),
        .pData = p->spec,
    };
    VkComputePipelineCreateInfo info = {
        .sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO,
        .stage =
            {
                .sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO,
                .stage = VK_SHADER_STAGE_COMPUTE_BIT,
                .module = module,
                .pName = "main",
                .pSpecializationInfo = &spec,
            },
        .layout = p->layout,
    };
    *call = "vkCreateComputePipelines";
    res = vk->fn.vkCreateComputePipelines(vk->device, vk->pipeline_cache, 1, &info, NULL, &p->pipeline);
    vk->fn.vkDestroyShaderModule(vk->device, module, NULL);
    return res;
}

static vkattn_result build(vkattn_context *ctx, const char *func, const char *shader, vkattn__vk_pipeline *p)
{
    vkattn__vk_context *vk = vkattn__vk(ctx);
    const vkattn__spirv *spirv = vkattn__shader_find(shader);
    if (!spirv || strlen(shader) >= sizeof p->shader)
        return vkattn__error(ctx, VKATTN_ERROR_INTERNAL, "%s: no embedded shader variant \"%s\"", func, shader);
    if (p->push_size > vk->limits.maxPushConstantsSize)
        return vkattn__error(ctx, VKATTN_ERROR_UNSUPPORTED,
                             "%s: shader %s needs %u bytes of push constants; the device allows %u", func, shader,
                             p->push_size, vk->limits.maxPushConstantsSize);
    memcpy(p->shader, shader, strlen(shader) + 1);
    const char *call = NULL;
    VkResult res = create_layouts(vk, p, &call);
    if (res == VK_SUCCESS)
        res = create_pipeline(vk, spirv, p, &call);
    if (res != VK_SUCCESS)
        return vkattn__vk_fail(ctx, func, call, res);
    ctx->stats.pipelines_created++;
    vkattn__log(ctx, VKATTN_LOG_DEBUG, "%s: built pipeline %s (workgroup size %u, %u more constants)", func, shader,
                p->spec[0], p->n_spec - 1);
    return VKATTN_OK;
}

vkattn_result vkattn__vk_pipeline_get(vkattn_context *ctx, const char *func, const char *shader,
                                      const uint32_t *spec, uint32_t n_spec, uint32_t n_bindings, uint32_t push_size,
                                      const vkattn__vk_pipeline **out)
{
    vkattn__vk_context *vk = vkattn__vk(ctx);
    if (n_spec == 0 || n_spec > VKATTN__VK_MAX_SPEC)
        return vkattn__error(ctx, VKATTN_ERROR_INTERNAL, "%s: shader %s given %u specialization constants", func,
                             shader, n_spec);
    size_t spec_bytes = n_spec * sizeof *spec;
    for (vkattn__vk_pipeline *p = vk->pipelines; p; p = p->next)
        if (p->n_spec == n_spec && memcmp(p->spec, spec, spec_bytes) == 0 && strcmp(p->shader, shader) == 0) {
            *out = p;
            return VKATTN_OK;
        }
    vkattn__vk_pipeline *p = calloc(1, sizeof *p);
    if (!p)
        return vkattn__error(ctx, VKATTN_ERROR_OUT_OF_HOST_MEMORY, "%s: out of host memory", func);
    memcpy(p->spec, spec, spec_bytes);
    p->n_spec = n_spec;
    p->n_bindings = n_bindings;
    p->push_size = push_size;
    vkattn_result r = build(ctx, func, shader, p);
    if (r != VKATTN_OK) {
        pipeline_free(ctx, p);
        return r;
    }
    p->next = vk->pipelines;
    vk->pipelines = p;
    *out = p;
    return VKATTN_OK;
}

void vkattn__vk_pipelines_destroy(vkattn_context *ctx)
{
    vkattn__vk_context *vk = vkattn__vk(ctx);
    while (vk->pipelines) {
        vkattn__vk_pipeline *p = vk->pipelines;
        vk->pipelines = p->next;
        pipeline_free(ctx, p);
    }
}
