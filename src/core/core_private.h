/*
 * core_private.h - what the files of src/core share beyond internal.h: storage reference counting and the tensor
 * handle pool. Ops and backends never need these.
 */
#ifndef VKATTN_CORE_PRIVATE_H
#define VKATTN_CORE_PRIVATE_H

#include "core/internal.h"

/* ---- storage (storage.c) ---- */

/* A new storage of `bytes` bytes with one reference, memory from the backend; `func` names the public call. */
vkattn_result vkattn__storage_create(vkattn_context *ctx, uint64_t bytes, const char *func, vkattn__storage **out);
void vkattn__storage_retain(vkattn__storage *s);
/* Drops one reference; the last one frees the backend buffer. */
void vkattn__storage_release(vkattn_context *ctx, vkattn__storage *s);

/* ---- tensor handle pool (pool.c) ---- */

/* Stores t (which brings one storage reference) in a free slot and writes its new handle. On failure the caller
 * still owns the reference. */
vkattn_result vkattn__pool_add(vkattn_context *ctx, const vkattn__tensor *t, const char *func, vkattn_tensor *out);
/* The live tensor behind a handle, or NULL for the zero handle, a destroyed one or one from another context. */
vkattn__tensor *vkattn__pool_get(const vkattn_context *ctx, vkattn_tensor t);
/* Frees the handle's slot and releases its storage reference. Stale handles are ignored. */
void vkattn__pool_remove(vkattn_context *ctx, vkattn_tensor t);
/* Releases every live tensor and frees the pool (context teardown). */
void vkattn__pool_destroy(vkattn_context *ctx);

#endif /* VKATTN_CORE_PRIVATE_H */
