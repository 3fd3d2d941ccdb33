"""vkattn.py - a small ctypes binding of libvkattn: numpy arrays in, new numpy arrays out, no build step.

Every op creates contiguous tensors from the arrays, writes them, runs the op immediately (cmd NULL), reads the result
back and destroys the tensors. The library is found through $VKATTN_LIBRARY, else build/libvkattn.so beside this
directory, else ctypes.util.find_library("vkattn").

    import numpy as np, vkattn
    with vkattn.Context("cpu") as ctx:
        y = ctx.rope(np.random.rand(1, 8, 4, 64).astype(np.float32), base=500000)
"""
import ctypes
import ctypes.util
import os

import numpy as np

__all__ = ["Context", "VkattnError", "rope_frequencies", "alibi_slopes", "load_library", "version"]

MAX_DIMS = 4
_c = ctypes


# ---- structs of include/vkattn.h, field for field in header order (enums as c_int, bool as c_bool) -------------
class TensorHandle(_c.Structure):
    _fields_ = [("id", _c.c_uint64)]


class TensorDesc(_c.Structure):
    _fields_ = [("dtype", _c.c_int), ("ndim", _c.c_uint32), ("shape", _c.c_int64 * MAX_DIMS),
                ("strides", _c.c_int64 * MAX_DIMS)]


_LOG_FN = _c.CFUNCTYPE(None, _c.c_void_p, _c.c_int, _c.c_char_p)


class ContextDesc(_c.Structure):
    _fields_ = [("backend", _c.c_int), ("device", _c.c_char_p), ("flags", _c.c_uint32), ("cache_dir", _c.c_char_p),
                ("log", _LOG_FN), ("log_user", _c.c_void_p), ("log_level", _c.c_int), ("timeout_ms", _c.c_uint32),
                ("profile", _c.c_int), ("memory_limit", _c.c_uint64)]


class DeviceInfo(_c.Structure):
    _fields_ = [("backend", _c.c_int), ("index", _c.c_uint32), ("name", _c.c_char * 256), ("type", _c.c_int),
                ("vendor_id", _c.c_uint32), ("device_id", _c.c_uint32), ("vendor", _c.c_char * 32),
                ("driver_name", _c.c_char * 256), ("driver_info", _c.c_char * 256), ("driver_version", _c.c_uint32),
                ("api_version", _c.c_uint32), ("pipeline_cache_uuid", _c.c_uint8 * 16),
                ("subgroup_size", _c.c_uint32), ("subgroup_arithmetic", _c.c_bool), ("fp16_storage", _c.c_bool),
                ("fp16_arithmetic", _c.c_bool), ("cooperative_matrix_nv", _c.c_bool), ("unified_memory", _c.c_bool),
                ("timestamps", _c.c_bool), ("timestamp_period_ns", _c.c_double),
                ("max_workgroup_invocations", _c.c_uint32), ("max_workgroup_size", _c.c_uint32 * 3),
                ("max_workgroup_count", _c.c_uint32 * 3), ("max_shared_memory", _c.c_uint32),
                ("max_storage_buffer_range", _c.c_uint64), ("min_storage_buffer_offset_alignment", _c.c_uint64),
                ("max_allocation_count", _c.c_uint64), ("max_allocation_size", _c.c_uint64),
                ("device_local_bytes", _c.c_uint64), ("profile", _c.c_int)]


class ContextStats(_c.Structure):
    _fields_ = [("tensors_alive", _c.c_uint64), ("bytes_allocated", _c.c_uint64), ("memory_blocks", _c.c_uint64),
                ("pipelines_created", _c.c_uint64), ("pipeline_cache_loaded", _c.c_bool),
                ("pipeline_cache_rejected", _c.c_bool), ("submissions", _c.c_uint64),
                ("command_buffers", _c.c_uint64), ("validation_messages", _c.c_uint64)]


class RopeDesc(_c.Structure):
    _fields_ = [("mode", _c.c_int), ("rot_dims", _c.c_uint32), ("base", _c.c_double), ("pos_offset", _c.c_int32),
                ("scaling", _c.c_int), ("factor", _c.c_double), ("orig_ctx", _c.c_uint32), ("ctx_len", _c.c_uint32),
                ("beta_fast", _c.c_double), ("beta_slow", _c.c_double), ("attn_factor", _c.c_double),
                ("yarn_mscale", _c.c_double), ("yarn_mscale_all_dim", _c.c_double),
                ("low_freq_factor", _c.c_double), ("high_freq_factor", _c.c_double),
                ("short_factor", _c.POINTER(_c.c_float)), ("long_factor", _c.POINTER(_c.c_float)),
                ("freq_factors", _c.POINTER(_c.c_float)), ("factor_count", _c.c_uint32), ("axes", _c.c_int),
                ("mrope_section", _c.c_uint32 * 3), ("flags", _c.c_uint32)]


class SinusoidalDesc(_c.Structure):
    _fields_ = [("layout", _c.c_int), ("base", _c.c_double), ("pos_offset", _c.c_int32)]


class AlibiDesc(_c.Structure):
    _fields_ = [("slopes", _c.POINTER(_c.c_float)), ("slope_count", _c.c_uint32), ("max_bias", _c.c_float),
                ("q_offset", _c.c_int32), ("causal", _c.c_bool), ("train_len", _c.c_uint32),
                ("grid_width", _c.c_uint32)]


class SoftmaxDesc(_c.Structure):
    _fields_ = [("scale", _c.c_float), ("mask", TensorHandle), ("causal", _c.c_bool), ("q_offset", _c.c_int32),
                ("window", _c.c_uint32), ("alibi", _c.POINTER(AlibiDesc))]


class MatmulDesc(_c.Structure):
    _fields_ = [("scale", _c.c_float), ("transpose_b", _c.c_bool)]


class AttentionDesc(_c.Structure):
    _fields_ = [("scale", _c.c_float), ("causal", _c.c_bool), ("q_offset", _c.c_int32), ("window", _c.c_uint32),
                ("mask", TensorHandle), ("pe", _c.c_int), ("rope", _c.POINTER(RopeDesc)),
                ("alibi", _c.POINTER(AlibiDesc)), ("unfused", _c.c_bool)]


BACKENDS = {"auto": 0, "vulkan": 1, "cpu": 2}
CONTEXT_VALIDATION = 1 << 0
CONTEXT_NO_PIPELINE_CACHE = 1 << 1
_DTYPES = {np.dtype(np.float32): 0, np.dtype(np.float16): 1, np.dtype(np.int32): 2}
_ROPE_MODES = {"neox": 0, "gptj": 1}
_ROPE_SCALINGS = {"none": 0, "linear": 1, "ntk": 2, "dynamic": 3, "yarn": 4, "longrope": 5, "llama3": 6}
_ROPE_AXES = {"1d": 0, "2d": 1, "mrope": 2}
_SIN_LAYOUTS = {"interleaved": 0, "concat": 1}
_PES = {"none": 0, "rope": 1, "alibi": 2}
ROPE_YARN_NO_TRUNCATE = 1 << 0


class VkattnError(RuntimeError):
    """A failed vkattn call: .name is the result code's name ("ERROR_SHAPE_MISMATCH"), .code its value."""

    def __init__(self, code, name, message):
        super().__init__("%s: %s" % (name, message))
        self.code = code
        self.name = name
        self.message = message


_lib = None


def load_library():
    """Loads libvkattn once; later calls return the same handle."""
    global _lib
    if _lib is not None:
        return _lib
    path = os.environ.get("VKATTN_LIBRARY")
    if not path:
        near = os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "build", "libvkattn.so")
        path = near if os.path.exists(near) else ctypes.util.find_library("vkattn")
    if not path:
        raise OSError("libvkattn not found: set VKATTN_LIBRARY or build build/libvkattn.so")
    lib = ctypes.CDLL(path)
    res = _c.c_int
    ctx_p = _c.c_void_p
    sigs = {
        "vkattn_version": (_c.c_uint32, []),
        "vkattn_result_name": (_c.c_char_p, [res]),
        "vkattn_result_str": (_c.c_char_p, [res]),
        "vkattn_context_create": (res, [_c.POINTER(ContextDesc), _c.POINTER(ctx_p)]),
        "vkattn_context_destroy": (None, [ctx_p]),
        "vkattn_context_backend": (_c.c_int, [ctx_p]),
        "vkattn_context_device_info": (res, [ctx_p, _c.POINTER(DeviceInfo)]),
        "vkattn_context_last_error": (_c.c_char_p, [ctx_p]),
        "vkattn_context_stats_get": (res, [ctx_p, _c.POINTER(ContextStats)]),
        "vkattn_enumerate_devices": (res, [_c.POINTER(DeviceInfo), _c.c_uint32, _c.POINTER(_c.c_uint32)]),
        "vkattn_tensor_create": (res, [ctx_p, _c.POINTER(TensorDesc), _c.POINTER(TensorHandle)]),
        "vkattn_tensor_destroy": (None, [ctx_p, TensorHandle]),
        "vkattn_tensor_write": (res, [ctx_p, TensorHandle, _c.c_void_p, _c.c_size_t]),
        "vkattn_tensor_read": (res, [ctx_p, TensorHandle, _c.c_void_p, _c.c_size_t]),
        "vkattn_copy": (res, [ctx_p, _c.c_void_p, TensorHandle, TensorHandle]),
        "vkattn_rope": (res, [ctx_p, _c.c_void_p, _c.POINTER(RopeDesc), TensorHandle, TensorHandle, TensorHandle]),
        "vkattn_rope_frequencies": (res, [_c.POINTER(RopeDesc), _c.c_uint32, _c.POINTER(_c.c_double), _c.c_uint32,
                                          _c.POINTER(_c.c_double)]),
        "vkattn_sinusoidal_add": (res, [ctx_p, _c.c_void_p, _c.POINTER(SinusoidalDesc), TensorHandle, TensorHandle,
                                        TensorHandle]),
        "vkattn_alibi": (res, [ctx_p, _c.c_void_p, _c.POINTER(AlibiDesc), TensorHandle, TensorHandle]),
        "vkattn_alibi_slopes": (res, [_c.POINTER(AlibiDesc), _c.c_uint32, _c.c_uint32, _c.POINTER(_c.c_float)]),
        "vkattn_softmax": (res, [ctx_p, _c.c_void_p, _c.POINTER(SoftmaxDesc), TensorHandle, TensorHandle]),
        "vkattn_matmul": (res, [ctx_p, _c.c_void_p, _c.POINTER(MatmulDesc), TensorHandle, TensorHandle,
                                TensorHandle]),
        "vkattn_attention": (res, [ctx_p, _c.c_void_p, _c.POINTER(AttentionDesc), TensorHandle, TensorHandle,
                                   TensorHandle, TensorHandle]),
    }
    for name, (restype, argtypes) in sigs.items():
        fn = getattr(lib, name)
        fn.restype = restype
        fn.argtypes = argtypes
    _lib = lib
    return lib


def version():
    """The linked library's version as major * 10000 + minor * 100 + patch."""
    return load_library().vkattn_version()


def _raise(r, message):
    name = load_library().vkattn_result_name(r).decode()
    raise VkattnError(r, name, message)


def _enum(table, value, what):
    if isinstance(value, str):
        try:
            return table[value.lower()]
        except KeyError:
            raise ValueError("unknown %s %r (one of %s)" % (what, value, ", ".join(table))) from None
    return int(value)


def _floats(values, keep):
    """A float32 C array of values (kept alive in `keep` while the call runs) and its length; (None, 0) for None."""
    if values is None:
        return None, 0
    arr = np.ascontiguousarray(values, dtype=np.float32).ravel()
    keep.append(arr)
    return arr.ctypes.data_as(_c.POINTER(_c.c_float)), arr.size


def _rope_desc(keep, mode=0, rot_dims=0, base=0.0, pos_offset=0, scaling=0, factor=0.0, orig_ctx=0, ctx_len=0,
               beta_fast=0.0, beta_slow=0.0, attn_factor=0.0, yarn_mscale=0.0, yarn_mscale_all_dim=0.0,
               low_freq_factor=0.0, high_freq_factor=0.0, short_factor=None, long_factor=None, freq_factors=None,
               axes=0, mrope_section=(0, 0, 0), flags=0, yarn_no_truncate=False):
    d = RopeDesc()
    d.mode = _enum(_ROPE_MODES, mode, "rope mode")
    d.rot_dims, d.base, d.pos_offset = rot_dims, base, pos_offset
    d.scaling = _enum(_ROPE_SCALINGS, scaling, "rope scaling")
    d.factor, d.orig_ctx, d.ctx_len, d.beta_fast, d.beta_slow = factor, orig_ctx, ctx_len, beta_fast, beta_slow
    d.attn_factor, d.yarn_mscale, d.yarn_mscale_all_dim = attn_factor, yarn_mscale, yarn_mscale_all_dim
    d.low_freq_factor, d.high_freq_factor = low_freq_factor, high_freq_factor
    counts = set()
    for field, values in (("short_factor", short_factor), ("long_factor", long_factor),
                          ("freq_factors", freq_factors)):
        ptr, n = _floats(values, keep)
        if ptr is not None:
            setattr(d, field, ptr)
            counts.add(n)
    if len(counts) > 1:
        raise ValueError("short_factor, long_factor and freq_factors must have one length")
    d.factor_count = counts.pop() if counts else 0
    d.axes = _enum(_ROPE_AXES, axes, "rope axes")
    d.mrope_section[:] = list(mrope_section)
    d.flags = flags | (ROPE_YARN_NO_TRUNCATE if yarn_no_truncate else 0)
    return d


def _alibi_desc(keep, slopes=None, max_bias=0.0, q_offset=0, causal=False, train_len=0, grid_width=0):
    d = AlibiDesc()
    ptr, n = _floats(slopes, keep)
    if ptr is not None:
        d.slopes, d.slope_count = ptr, n
    d.max_bias, d.q_offset, d.causal, d.train_len, d.grid_width = max_bias, q_offset, causal, train_len, grid_width
    return d


def rope_frequencies(head_dim, **desc):
    """(theta as float64 [rot_dims/2], attention factor) of vkattn_rope for this desc (keywords as Context.rope)."""
    lib = load_library()
    keep = []
    d = _rope_desc(keep, **desc)
    n = max(int(head_dim), 2)
    out = (_c.c_double * n)()
    attn = _c.c_double()
    r = lib.vkattn_rope_frequencies(_c.byref(d), head_dim, out, n, _c.byref(attn))
    if r != 0:
        _raise(r, "vkattn_rope_frequencies failed")
    count = (d.rot_dims or head_dim) // 2
    return np.array(out[:count], dtype=np.float64), attn.value


def alibi_slopes(heads, k_len=0, **desc):
    """The float32 slopes vkattn_alibi uses for `heads` heads (keywords as Context.alibi; k_len for train_len)."""
    lib = load_library()
    keep = []
    d = _alibi_desc(keep, **desc)
    out = np.zeros(max(int(heads), 1), dtype=np.float32)
    r = lib.vkattn_alibi_slopes(_c.byref(d), heads, k_len, out.ctypes.data_as(_c.POINTER(_c.c_float)))
    if r != 0:
        _raise(r, "vkattn_alibi_slopes failed")
    return out[:heads]


class Context:
    """A vkattn context. backend: "auto", "vulkan" or "cpu"; device: index or name substring (Vulkan);
    validation: enable the Khronos validation layer. Use as a context manager or call close()."""

    def __init__(self, backend="auto", device=None, validation=False, flags=0, pipeline_cache=True):
        self._lib = load_library()
        self._ctx = None
        desc = ContextDesc()
        desc.backend = _enum(BACKENDS, backend, "backend")
        desc.device = None if device is None else str(device).encode()
        desc.flags = flags | (CONTEXT_VALIDATION if validation else 0) | (
            0 if pipeline_cache else CONTEXT_NO_PIPELINE_CACHE)
        ctx = _c.c_void_p()
        r = self._lib.vkattn_context_create(_c.byref(desc), _c.byref(ctx))
        if r != 0:
            _raise(r, self._lib.vkattn_context_last_error(None).decode(errors="replace"))
        self._ctx = ctx

    def close(self):
        if self._ctx is not None:
            self._lib.vkattn_context_destroy(self._ctx)
            self._ctx = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown may have torn down the library already
            pass

    @property
    def backend(self):
        """"vulkan" or "cpu": the backend the context really runs on."""
        b = self._lib.vkattn_context_backend(self._handle())
        return {v: k for k, v in BACKENDS.items()}.get(b, str(b))

    def device_info(self):
        info = DeviceInfo()
        self._check(self._lib.vkattn_context_device_info(self._handle(), _c.byref(info)))
        return info

    def stats(self):
        """vkattn_context_stats: tensors_alive, submissions, validation_messages ..."""
        st = ContextStats()
        self._check(self._lib.vkattn_context_stats_get(self._handle(), _c.byref(st)))
        return st

    # ---- plumbing ---------------------------------------------------------------------------------------------
    def _handle(self):
        if self._ctx is None:
            raise ValueError("vkattn context is closed")
        return self._ctx

    def _check(self, r):
        if r != 0:
            _raise(r, self._lib.vkattn_context_last_error(self._ctx).decode(errors="replace"))

    def _tensor(self, tensors, shape, dtype):
        dtype = np.dtype(dtype)
        if dtype not in _DTYPES:
            raise TypeError("vkattn takes float32, float16 or int32 arrays, not %s" % dtype)
        if not 1 <= len(shape) <= MAX_DIMS:
            raise ValueError("vkattn tensors have 1 to 4 dims, not %d" % len(shape))
        desc = TensorDesc()
        desc.dtype = _DTYPES[dtype]
        desc.ndim = len(shape)
        desc.shape[:len(shape)] = [int(s) for s in shape]
        t = TensorHandle()
        self._check(self._lib.vkattn_tensor_create(self._handle(), _c.byref(desc), _c.byref(t)))
        tensors.append(t)
        return t

    def _input(self, tensors, array, dtype=None):
        arr = np.ascontiguousarray(array if dtype is None else np.asarray(array, dtype=dtype))
        t = self._tensor(tensors, arr.shape, arr.dtype)
        self._check(self._lib.vkattn_tensor_write(self._ctx, t, arr.ctypes.data_as(_c.c_void_p), arr.nbytes))
        return t

    def _read(self, t, shape, dtype):
        out = np.empty(shape, dtype=dtype)
        self._check(self._lib.vkattn_tensor_read(self._ctx, t, out.ctypes.data_as(_c.c_void_p), out.nbytes))
        return out

    def _run(self, body):
        """Runs body(tensors) and destroys every tensor it created, also when it raises."""
        tensors = []
        try:
            return body(tensors)
        finally:
            for t in tensors:
                self._lib.vkattn_tensor_destroy(self._ctx, t)

    @staticmethod
    def _float(x):
        x = np.asarray(x)
        if x.dtype not in (np.float32, np.float16):
            raise TypeError("expected a float32 or float16 array, got %s" % x.dtype)
        return x

    def _unary(self, x, call):
        x = self._float(x)

        def body(tensors):
            tx = self._input(tensors, x)
            ty = self._tensor(tensors, x.shape, x.dtype)
            self._check(call(tensors, tx, ty))
            return self._read(ty, x.shape, x.dtype)
        return self._run(body)

    # ---- ops ----------------------------------------------------------------------------------------------------
    def copy(self, x, dtype=None):
        """vkattn_copy into a new tensor of `dtype` (default x's): converts between float32 and float16."""
        x = np.asarray(x)
        dtype = x.dtype if dtype is None else np.dtype(dtype)

        def body(tensors):
            tx = self._input(tensors, x)
            ty = self._tensor(tensors, x.shape, dtype)
            self._check(self._lib.vkattn_copy(self._ctx, None, tx, ty))
            return self._read(ty, x.shape, dtype)
        return self._run(body)

    def rope(self, x, positions=None, **desc):
        """vkattn_rope. x: [batch, seq, heads, head_dim] or [seq, heads, head_dim]; positions: int32 array or None;
        desc keywords: the fields of vkattn_rope_desc (mode "neox"/"gptj", scaling "none"/"linear"/"ntk"/"dynamic"/
        "yarn"/"longrope"/"llama3", axes "1d"/"2d"/"mrope", short_factor/long_factor/freq_factors as arrays,
        yarn_no_truncate=True ...)."""
        keep = []
        d = _rope_desc(keep, **desc)

        def call(tensors, tx, ty):
            tp = TensorHandle() if positions is None else self._input(tensors, positions, np.int32)
            return self._lib.vkattn_rope(self._ctx, None, _c.byref(d), tx, tp, ty)
        return self._unary(x, call)

    def sinusoidal_add(self, x, positions=None, layout="interleaved", base=0.0, pos_offset=0):
        """vkattn_sinusoidal_add: x + PE. x: [batch, seq, dim] or [seq, dim]."""
        d = SinusoidalDesc(_enum(_SIN_LAYOUTS, layout, "layout"), base, pos_offset)

        def call(tensors, tx, ty):
            tp = TensorHandle() if positions is None else self._input(tensors, positions, np.int32)
            return self._lib.vkattn_sinusoidal_add(self._ctx, None, _c.byref(d), tx, tp, ty)
        return self._unary(x, call)

    def alibi(self, scores, **desc):
        """vkattn_alibi on scores [batch, heads, q, k], [heads, q, k] or [q, k]. desc: slopes, max_bias, q_offset,
        causal, train_len, grid_width."""
        keep = []
        d = _alibi_desc(keep, **desc)
        return self._unary(scores, lambda tensors, tx, ty: self._lib.vkattn_alibi(self._ctx, None, _c.byref(d),
                                                                                  tx, ty))

    def softmax(self, x, scale=0.0, mask=None, causal=False, q_offset=0, window=0, alibi=None):
        """vkattn_softmax along the last axis. mask: float array (None = none); alibi: None, True (paper slopes) or
        a dict of alibi desc keywords (slopes, max_bias, train_len, grid_width)."""
        keep = []
        ad = None if alibi is None or alibi is False else _alibi_desc(keep, **({} if alibi is True else alibi))

        def call(tensors, tx, ty):
            d = SoftmaxDesc()
            d.scale, d.causal, d.q_offset, d.window = scale, causal, q_offset, window
            if mask is not None:
                d.mask = self._input(tensors, self._float(mask))
            if ad is not None:
                d.alibi = _c.pointer(ad)
            return self._lib.vkattn_softmax(self._ctx, None, _c.byref(d), tx, ty)
        return self._unary(x, call)

    def matmul(self, a, b, transpose_b=False, scale=0.0, out_dtype=None):
        """vkattn_matmul: scale * a @ b (or a @ b^T with transpose_b); c has a's leading dims and dtype."""
        a, b = self._float(a), self._float(b)
        if a.ndim < 2 or b.ndim != a.ndim:
            raise ValueError("a and b need the same number of dims, at least 2")
        n = b.shape[-2] if transpose_b else b.shape[-1]
        shape = a.shape[:-1] + (n,)
        dtype = a.dtype if out_dtype is None else np.dtype(out_dtype)

        def body(tensors):
            ta, tb = self._input(tensors, a), self._input(tensors, b)
            tc = self._tensor(tensors, shape, dtype)
            d = MatmulDesc(scale, transpose_b)
            self._check(self._lib.vkattn_matmul(self._ctx, None, _c.byref(d), ta, tb, tc))
            return self._read(tc, shape, dtype)
        return self._run(body)

    def attention(self, q, k, v, scale=0.0, causal=False, q_offset=0, window=0, mask=None, pe="none", rope=None,
                  alibi=None, unfused=False):
        """vkattn_attention. q: [batch, q_len, heads, head_dim] (or without batch); k, v: [batch, kv_len, kv_heads,
        head_dim]. pe: "none", "rope" (rope: dict of rope desc keywords) or "alibi" (alibi: dict of alibi keywords)."""
        q, k, v = self._float(q), self._float(k), self._float(v)
        keep = []
        rd = None if rope is None else _rope_desc(keep, **rope)
        ad = None if alibi is None else _alibi_desc(keep, **alibi)

        def body(tensors):
            tq, tk, tv = self._input(tensors, q), self._input(tensors, k), self._input(tensors, v)
            to = self._tensor(tensors, q.shape, q.dtype)
            d = AttentionDesc()
            d.scale, d.causal, d.q_offset, d.window = scale, causal, q_offset, window
            d.pe, d.unfused = _enum(_PES, pe, "pe"), unfused
            if mask is not None:
                d.mask = self._input(tensors, self._float(mask))
            if rd is not None:
                d.rope = _c.pointer(rd)
            if ad is not None:
                d.alibi = _c.pointer(ad)
            self._check(self._lib.vkattn_attention(self._ctx, None, _c.byref(d), tq, tk, tv, to))
            return self._read(to, q.shape, q.dtype)
        return self._run(body)
