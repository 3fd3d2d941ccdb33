"""Tests of python/vkattn.py: every op on the CPU backend and on Vulkan against float64 numpy references written from
the formulas, error cases, and the CLI (`vkattn run ...`) against the binding, bitwise on the same backend.

Run: python3 -m unittest discover -s python -v   (or python3 python/test_vkattn.py)
Environment: VKATTN_LIBRARY (default ../build/libvkattn.so), VKATTN_CLI (default ../build/vkattn). Without CI=true a
missing Vulkan device or CLI skips those tests; with CI=true it fails them.
"""
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import vkattn  # noqa: E402

IN_CI = os.environ.get("CI", "").lower() == "true"
CLI = os.environ.get("VKATTN_CLI") or os.path.join(HERE, os.pardir, "build", "vkattn")
TOL = {np.dtype(np.float32): 1e-5, np.dtype(np.float16): 1e-3}


# ---- float64 references, from the formulas in include/vkattn.h and the papers -------------------------------------
def ref_rope(x, pos, base=10000.0, mode="neox", rot_dims=None, linear=1.0):
    """x [..., seq, heads, d] in float64; pos [seq] or [batch, seq]."""
    x = x.astype(np.float64)
    d = rot_dims or x.shape[-1]
    theta = base ** (-2.0 * np.arange(d // 2) / d) / linear
    pos = np.asarray(pos, dtype=np.float64)
    ang = pos[..., None] * theta                       # [(batch,) seq, d/2]
    c, s = np.cos(ang)[..., None, :], np.sin(ang)[..., None, :]   # broadcast over heads
    y = x.copy()
    if mode == "neox":
        a, b = x[..., :d // 2], x[..., d // 2:d]
        y[..., :d // 2], y[..., d // 2:d] = a * c - b * s, b * c + a * s
    else:
        a, b = x[..., 0:d:2], x[..., 1:d:2]
        y[..., 0:d:2], y[..., 1:d:2] = a * c - b * s, b * c + a * s
    return y


def ref_sinusoidal(x, pos, base=10000.0):
    x = x.astype(np.float64)
    dim = x.shape[-1]
    pe = np.zeros((len(pos), dim))
    for k in range((dim + 1) // 2):
        w = base ** (-2.0 * k / dim)
        pe[:, 2 * k] = np.sin(np.asarray(pos) * w)
        if 2 * k + 1 < dim:
            pe[:, 2 * k + 1] = np.cos(np.asarray(pos) * w)
    return x + pe


def paper_slopes(heads):
    """Press et al. get_slopes: m_h = 2^(-8(h+1)/n) for n a power of two (8 heads: 1/2, 1/4, ..., 1/256); otherwise
    the slopes of the lower power of two n' followed by every other slope of 2n'."""
    def pow2(n):
        return [2.0 ** (-8.0 * (h + 1) / n) for h in range(n)]
    n = 1 << (heads.bit_length() - 1)
    if n == heads:
        return np.array(pow2(n))
    return np.array(pow2(n) + pow2(2 * n)[0::2][:heads - n])


def ref_bias(heads, q_len, k_len, q_offset=0, causal=False, window=0, slopes=None):
    """[heads, q, k] additive bias: -m_h |q_pos - k_pos| (if slopes), -inf where causal or window mask."""
    qp = q_offset + np.arange(q_len)[:, None]
    kp = np.arange(k_len)[None, :]
    bias = np.zeros((heads, q_len, k_len))
    if slopes is not None:
        bias -= slopes[:, None, None] * np.abs(qp - kp)[None]
    masked = np.zeros((q_len, k_len), dtype=bool)
    if causal:
        masked |= kp > qp
    if window:
        masked |= (qp - kp) >= window
    bias[:, masked] = -np.inf
    return bias


def ref_softmax(v):
    m = np.max(v, axis=-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    e = np.exp(v - m)
    s = np.sum(e, axis=-1, keepdims=True)
    return np.where(s > 0, e / np.where(s > 0, s, 1.0), 0.0)


def ref_attention(q, k, v, causal=False, q_offset=0, window=0, slopes=None, scale=None):
    """q [b, s, h, d], k/v [b, kv, kvh, d] -> [b, s, h, d], in float64."""
    q, k, v = (t.astype(np.float64) for t in (q, k, v))
    heads, kvh, d = q.shape[2], k.shape[2], q.shape[3]
    rep = heads // kvh
    k = np.repeat(k, rep, axis=2)
    v = np.repeat(v, rep, axis=2)
    scale = 1.0 / np.sqrt(d) if scale is None else scale
    scores = np.einsum("bqhd,bkhd->bhqk", q, k) * scale
    scores = scores + ref_bias(heads, q.shape[1], k.shape[1], q_offset, causal, window, slopes)[None]
    return np.einsum("bhqk,bkhd->bqhd", ref_softmax(scores), v)


class Base:
    """Tests shared by both backends; subclasses set BACKEND."""
    BACKEND = None
    ctx = None

    @classmethod
    def open_context(cls):
        return vkattn.Context(cls.BACKEND)

    @classmethod
    def setUpClass(cls):
        try:
            cls.ctx = cls.open_context()
        except vkattn.VkattnError as e:
            if IN_CI:
                raise
            raise unittest.SkipTest("no %s context: %s" % (cls.BACKEND, e))
        cls.rng = np.random.default_rng(7)

    @classmethod
    def tearDownClass(cls):
        if cls.ctx is not None:
            cls.ctx.close()

    def rand(self, *shape, dtype=np.float32):
        return self.rng.uniform(-1, 1, size=shape).astype(dtype)

    def assertClose(self, got, ref, dtype):
        """Relative to the largest reference magnitude: max |got - ref| <= tol * max |ref|; -inf at the same places."""
        self.assertEqual(got.dtype, np.dtype(dtype))
        self.assertEqual(got.shape, ref.shape)
        got = got.astype(np.float64)
        inf = np.isinf(ref)
        np.testing.assert_array_equal(np.isinf(got), inf)
        np.testing.assert_array_equal(got[inf], ref[inf])
        scale = max(np.max(np.abs(ref[~inf])), 1e-30)
        err = np.max(np.abs(got[~inf] - ref[~inf])) / scale
        self.assertLessEqual(err, TOL[np.dtype(dtype)], "relative error %.3g on %s" % (err, self.BACKEND))

    def both(self):
        return (np.float32, np.float16)

    # ---- ops ----------------------------------------------------------------------------------------------------
    def test_backend(self):
        self.assertEqual(self.ctx.backend, self.BACKEND)

    def test_copy(self):
        x = self.rand(3, 5, 7)
        h = self.ctx.copy(x, np.float16)
        np.testing.assert_array_equal(h, x.astype(np.float16))   # round to nearest even, as numpy
        np.testing.assert_array_equal(self.ctx.copy(h, np.float32), h.astype(np.float32))
        p = np.arange(10, dtype=np.int32)
        np.testing.assert_array_equal(self.ctx.copy(p), p)

    def test_rope_neox_default(self):
        for dt in self.both():
            x = self.rand(2, 6, 3, 16, dtype=dt)
            self.assertClose(self.ctx.rope(x), ref_rope(x, np.arange(6)), dt)

    def test_rope_positions_offset_gptj_partial_linear(self):
        for dt in self.both():
            x = self.rand(2, 5, 2, 12, dtype=dt)
            pos = np.array([[3, 9, 1, 40, 7], [0, 2, 100, 5, 6]], dtype=np.int32)
            self.assertClose(self.ctx.rope(x, pos, base=500.0), ref_rope(x, pos, base=500.0), dt)
            self.assertClose(self.ctx.rope(x, pos_offset=17, mode="gptj", rot_dims=8),
                             ref_rope(x, 17 + np.arange(5), mode="gptj", rot_dims=8), dt)
            self.assertClose(self.ctx.rope(x[0], scaling="linear", factor=4.0),
                             ref_rope(x[0], np.arange(5), linear=4.0), dt)

    def test_rope_frequencies(self):
        theta, attn = vkattn.rope_frequencies(64)
        np.testing.assert_allclose(theta, 10000.0 ** (-2.0 * np.arange(32) / 64), rtol=1e-12)
        self.assertEqual(attn, 1.0)
        theta, _ = vkattn.rope_frequencies(64, rot_dims=32, scaling="linear", factor=2.0)
        np.testing.assert_allclose(theta, 10000.0 ** (-2.0 * np.arange(16) / 32) / 2, rtol=1e-12)
        _, attn = vkattn.rope_frequencies(64, scaling="yarn", factor=4.0, orig_ctx=4096)
        self.assertAlmostEqual(attn, 0.1 * np.log(4.0) + 1, places=12)

    def test_sinusoidal_add(self):
        for dt in self.both():
            x = self.rand(2, 7, 10, dtype=dt)
            self.assertClose(self.ctx.sinusoidal_add(x, pos_offset=3), ref_sinusoidal(x, 3 + np.arange(7)), dt)
            pos = np.array([5, 1, 0, 9, 2, 2, 30], dtype=np.int32)
            self.assertClose(self.ctx.sinusoidal_add(x[0], pos), ref_sinusoidal(x[0], pos), dt)

    def test_alibi_slopes(self):
        np.testing.assert_array_equal(vkattn.alibi_slopes(8), [2.0 ** -(h + 1) for h in range(8)])
        np.testing.assert_allclose(vkattn.alibi_slopes(4), paper_slopes(4), rtol=1e-7)
        np.testing.assert_array_equal(vkattn.alibi_slopes(3), [1 / 16, 1 / 256, 1 / 4])   # non power of two
        np.testing.assert_allclose(vkattn.alibi_slopes(12), paper_slopes(12), rtol=1e-7)

    def test_alibi(self):
        for dt in self.both():
            x = self.rand(2, 8, 4, 9, dtype=dt)
            ref = x.astype(np.float64) + ref_bias(8, 4, 9, q_offset=5, causal=True, slopes=paper_slopes(8))[None]
            self.assertClose(self.ctx.alibi(x, q_offset=5, causal=True), ref, dt)
            slopes = np.array([0.3, 0.7], dtype=np.float32)
            ref = x[0, :2].astype(np.float64) + ref_bias(2, 4, 9, slopes=slopes.astype(np.float64))
            self.assertClose(self.ctx.alibi(x[0, :2], slopes=slopes), ref, dt)

    def test_softmax(self):
        for dt in self.both():
            x = self.rand(2, 3, 5, 8, dtype=dt) * 4
            xd = x.astype(np.float64)
            self.assertClose(self.ctx.softmax(x), ref_softmax(xd), dt)
            self.assertClose(self.ctx.softmax(x, scale=0.5, causal=True, q_offset=2),
                             ref_softmax(0.5 * xd + ref_bias(3, 5, 8, 2, causal=True)[None]), dt)
            self.assertClose(self.ctx.softmax(x, causal=True, q_offset=3, window=3),
                             ref_softmax(xd + ref_bias(3, 5, 8, 3, causal=True, window=3)[None]), dt)
            mask = self.rand(5, 8, dtype=dt)
            mask[1, 2:5] = -np.inf
            self.assertClose(self.ctx.softmax(x, mask=mask), ref_softmax(xd + mask.astype(np.float64)), dt)
            self.assertClose(self.ctx.softmax(x, alibi=True),
                             ref_softmax(xd + ref_bias(3, 5, 8, slopes=paper_slopes(3))[None]), dt)

    def test_softmax_fully_masked_row_is_zero(self):
        x = self.rand(2, 4)
        mask = np.zeros((2, 4), dtype=np.float32)
        mask[0] = -np.inf
        y = self.ctx.softmax(x, mask=mask)
        np.testing.assert_array_equal(y[0], 0)
        self.assertClose(y[1:], ref_softmax(x[1:].astype(np.float64)), np.float32)

    def test_matmul(self):
        for dt in self.both():
            a, b = self.rand(2, 4, 3, 16, dtype=dt), self.rand(2, 2, 16, 5, dtype=dt)   # GQA: heads_b 2 of 4
            ref = np.einsum("bhmk,bhkn->bhmn", a.astype(np.float64), np.repeat(b.astype(np.float64), 2, axis=1))
            self.assertClose(self.ctx.matmul(a, b), ref, dt)
            bt = np.ascontiguousarray(np.swapaxes(b, -1, -2))
            self.assertClose(self.ctx.matmul(a, bt, transpose_b=True, scale=0.25), 0.25 * ref, dt)
            self.assertClose(self.ctx.matmul(a[0, 0], b[0, 0]), a[0, 0].astype(np.float64) @ b[0, 0], dt)

    def test_attention(self):
        for dt in self.both():
            q, k, v = self.rand(2, 5, 4, 32, dtype=dt), self.rand(2, 9, 2, 32, dtype=dt), self.rand(2, 9, 2, 32,
                                                                                                       dtype=dt)
            for unfused in (False, True):
                self.assertClose(self.ctx.attention(q, k, v, causal=True, q_offset=4, unfused=unfused),
                                 ref_attention(q, k, v, causal=True, q_offset=4), dt)
            self.assertClose(self.ctx.attention(q, k, v), ref_attention(q, k, v), dt)
            self.assertClose(self.ctx.attention(q[0], k[0], v[0], window=3, causal=True, q_offset=4),
                             ref_attention(q[:1], k[:1], v[:1], causal=True, q_offset=4, window=3)[0], dt)
            mask = self.rand(5, 9, dtype=dt)
            ref = ref_attention(q, k, v, scale=0.1)   # mask folded in below by hand
            qd, kd, vd = (np.repeat(t.astype(np.float64), r, axis=2) for t, r in ((q, 1), (k, 2), (v, 2)))
            s = np.einsum("bqhd,bkhd->bhqk", qd, kd) * 0.1 + mask.astype(np.float64)
            ref = np.einsum("bhqk,bkhd->bqhd", ref_softmax(s), vd)
            self.assertClose(self.ctx.attention(q, k, v, scale=0.1, mask=mask), ref, dt)

    def test_attention_rope_alibi(self):
        for dt in self.both():
            q, k, v = self.rand(1, 4, 8, 16, dtype=dt), self.rand(1, 7, 8, 16, dtype=dt), self.rand(1, 7, 8, 16,
                                                                                                       dtype=dt)
            # PE_ROPE: q rotated at q_offset + i, k at j, then plain causal attention.
            qr, kr = ref_rope(q, 3 + np.arange(4)), ref_rope(k, np.arange(7))
            self.assertClose(self.ctx.attention(q, k, v, causal=True, q_offset=3, pe="rope"),
                             ref_attention(qr, kr, v, causal=True, q_offset=3), dt)
            self.assertClose(self.ctx.attention(q, k, v, causal=True, q_offset=3, pe="rope",
                                                rope={"base": 1000.0}),
                             ref_attention(ref_rope(q, 3 + np.arange(4), 1000.0), ref_rope(k, np.arange(7), 1000.0),
                                           v, causal=True, q_offset=3), dt)
            self.assertClose(self.ctx.attention(q, k, v, causal=True, q_offset=3, pe="alibi"),
                             ref_attention(q, k, v, causal=True, q_offset=3, slopes=paper_slopes(8)), dt)

    # ---- errors ---------------------------------------------------------------------------------------------------
    def assertVkattnError(self, name, fn, *args, **kw):
        with self.assertRaises(vkattn.VkattnError) as cm:
            fn(*args, **kw)
        self.assertEqual(cm.exception.name, name)
        self.assertTrue(cm.exception.message, "the error carries the context's message")
        return cm.exception

    def test_errors(self):
        e = self.assertVkattnError("ERROR_SHAPE_MISMATCH", self.ctx.matmul, self.rand(2, 3), self.rand(2, 2))
        self.assertIn("vkattn_matmul", e.message)
        self.assertEqual(e.code, -3)
        self.assertVkattnError("ERROR_SHAPE_MISMATCH", self.ctx.softmax, self.rand(2, 4), mask=self.rand(3, 4))
        self.assertVkattnError("ERROR_SHAPE_MISMATCH", self.ctx.rope, self.rand(1, 4, 2, 8),
                               np.arange(5, dtype=np.int32))
        self.assertVkattnError("ERROR_SHAPE_MISMATCH", self.ctx.attention, self.rand(1, 4, 3, 8),
                               self.rand(1, 5, 2, 8), self.rand(1, 5, 2, 8))
        self.assertVkattnError("ERROR_INVALID_ARGUMENT", self.ctx.rope, self.rand(1, 4, 2, 8), base=0.5)
        self.assertVkattnError("ERROR_INVALID_ARGUMENT", self.ctx.rope, self.rand(1, 4, 2, 8), rot_dims=3)
        self.assertVkattnError("ERROR_DTYPE_MISMATCH", self.ctx.matmul, self.rand(2, 2),
                               self.rand(2, 2).astype(np.int32).astype(np.float32), out_dtype=np.int32)
        self.assertVkattnError("ERROR_INVALID_ARGUMENT", vkattn.rope_frequencies, 8, base=-1.0)
        with self.assertRaises(TypeError):
            self.ctx.softmax(np.zeros(3, dtype=np.float64))
        with self.assertRaises(ValueError):
            self.ctx.rope(self.rand(1, 4, 2, 8), scaling="bogus")
        # The context stays usable after failures.
        self.assertClose(self.ctx.softmax(np.zeros((1, 4), np.float32)), np.full((1, 4), 0.25), np.float32)

    # ---- the CLI against the binding -------------------------------------------------------------------------
    def cli(self, op, args, inputs):
        if not os.path.exists(CLI):
            if IN_CI:
                self.fail("CLI %s not found (set VKATTN_CLI)" % CLI)
            self.skipTest("CLI %s not found" % CLI)
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [CLI, "run", op]
            for flag, arr in inputs.items():
                path = os.path.join(tmp, flag + ".npy")
                np.save(path, arr)
                cmd += ["--" + flag, path]
            out = os.path.join(tmp, "out.npy")
            cmd += list(args) + ["--backend", self.BACKEND, "-o", out]
            proc = subprocess.run(cmd, capture_output=True, text=True)
            self.assertEqual(proc.returncode, 0, "%s\n%s%s" % (" ".join(cmd), proc.stdout, proc.stderr))
            return np.load(out)

    def assertBitwise(self, got, cli_out):
        self.assertEqual(got.dtype, cli_out.dtype)
        self.assertEqual(got.shape, cli_out.shape)
        # Compare the bits, so that -0.0 vs 0.0 or a NaN payload would show.
        self.assertTrue(np.array_equal(got.view(np.uint8), cli_out.view(np.uint8)), "binding and CLI differ")

    def test_cli_rope(self):
        for dt in self.both():
            x = self.rand(2, 6, 4, 32, dtype=dt)
            self.assertBitwise(self.ctx.rope(x), self.cli("rope", [], {"x": x}))
            args = ["--pos-offset", "4000", "--scaling", "yarn", "--factor", "4", "--orig-ctx", "4096"]
            self.assertBitwise(self.ctx.rope(x, pos_offset=4000, scaling="yarn", factor=4.0, orig_ctx=4096),
                               self.cli("rope", args, {"x": x}))
            pos = np.array([[1, 5, 9, 2, 0, 77], [3, 3, 3, 8, 1, 2]], dtype=np.int32)
            self.assertBitwise(self.ctx.rope(x, pos, mode="gptj", rot_dims=16),
                               self.cli("rope", ["--mode", "gptj", "--rot-dims", "16"], {"x": x, "pos": pos}))

    def test_cli_other_ops(self):
        x = self.rand(2, 4, 5, 9)
        self.assertBitwise(self.ctx.softmax(x, causal=True, q_offset=4, scale=0.5),
                           self.cli("softmax", ["--causal", "--q-offset", "4", "--scale", "0.5"], {"x": x}))
        self.assertBitwise(self.ctx.alibi(x, causal=True, q_offset=2),
                           self.cli("alibi", ["--causal", "--q-offset", "2"], {"scores": x}))
        self.assertBitwise(self.ctx.sinusoidal_add(x[0], layout="concat"),
                           self.cli("sinusoidal", ["--layout", "concat"], {"x": x[0]}))
        a, b = self.rand(2, 4, 3, 8), self.rand(2, 4, 5, 8)
        self.assertBitwise(self.ctx.matmul(a, b, transpose_b=True),
                           self.cli("matmul", ["--transpose-b"], {"a": a, "b": b}))
        q, k, v = self.rand(1, 5, 4, 16), self.rand(1, 7, 2, 16), self.rand(1, 7, 2, 16)
        self.assertBitwise(self.ctx.attention(q, k, v, causal=True, q_offset=2, pe="rope"),
                           self.cli("attention", ["--causal", "--q-offset", "2", "--pe", "rope"],
                                    {"q": q, "k": k, "v": v}))


class TestCpu(Base, unittest.TestCase):
    BACKEND = "cpu"


class TestVulkan(Base, unittest.TestCase):
    BACKEND = "vulkan"

    @classmethod
    def open_context(cls):
        # The validation layer reports API misuse and missing barriers; the context counts its messages.
        return vkattn.Context("vulkan", validation=True)

    def test_zz_no_validation_messages(self):
        # Named to run last in this class (unittest sorts by name), after every op above ran on this context.
        self.assertEqual(self.ctx.stats().validation_messages, 0)


class TestContext(unittest.TestCase):
    def test_context_lifecycle(self):
        ctx = vkattn.Context("cpu")
        with ctx:
            self.assertEqual(ctx.device_info().backend, 2)
            ctx.softmax(np.zeros((2, 2), np.float32))
            self.assertEqual(ctx.stats().tensors_alive, 0, "every op destroys its tensors")
        with self.assertRaises(ValueError):
            ctx.softmax(np.zeros(2, np.float32))
        ctx.close()   # twice is fine

    def test_bad_device(self):
        with self.assertRaises(vkattn.VkattnError) as cm:
            vkattn.Context("vulkan", device="no-such-device-xyz")
        self.assertIn(cm.exception.name, ("ERROR_NO_DEVICE", "ERROR_NO_VULKAN"))

    def test_version(self):
        self.assertGreaterEqual(vkattn.version(), 100)


if __name__ == "__main__":
    unittest.main()
