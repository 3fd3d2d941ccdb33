// mask.glsl - the masking of attention scores shared by softmax.comp and attention.comp (vkattn__mask_params in
// src/core/internal.h), and ALiBi's distance (alibi.comp). Scores are [batch, heads, q_len, k_len]; query row i
// sits at q = q_offset + i, key j at k = j; a key is hidden (score -inf) where
//   causal and k > q,  or  window > 0 and q - k >= window;
// else its score is v = scale * x + mask[b, h, i, j] - slope[h] * dist(q, k).

// Bits of the mask flags (a push constant in softmax.comp, a specialization constant in attention.comp).
const uint MASK_CAUSAL = 1u;
const uint MASK_ADDITIVE = 2u;  // has_mask
const uint MASK_ALIBI = 4u;     // has_alibi

#if defined(MASK_F16)
#define MASK_T float16_t
#else
#define MASK_T float
#endif

// |a - b| exactly for any int32 pair (the difference as uint never wraps past 2^32), then rounded to float.
float pos_gap(int a, int b)
{
    return float(uint(max(a, b)) - uint(min(a, b)));
}

// ALiBi distance (Press et al. 2022, arXiv:2108.12409): |q - k|, or with a patch grid of width w (2D ALiBi) the
// Euclidean distance of (p / w, p mod w). 2D positions are >= 0 (checked by the front ends), so int division is the
// floor.
float alibi_distance(int q, int k, uint grid_width)
{
    if (grid_width == 0u) {
        return pos_gap(q, k);
    }
    int w = int(grid_width);
    float dr = pos_gap(q / w, k / w);
    float dc = pos_gap(q % w, k % w);
    return sqrt(dr * dr + dc * dc);
}

// v plus an additive mask entry m, where m = -inf hides the key even when v overflowed to +inf in f32 (the CPU
// backend computes in float64, where scale * x stays finite).
float add_mask(float v, float m)
{
    return m == NEG_INF ? NEG_INF : v + m;
}

// Whether causal masking or the sliding window hides key k from query q (q - k compared in uint: never wraps).
bool key_hidden(int q, int k, uint flags, uint window)
{
    if (k > q) {
        return (flags & MASK_CAUSAL) != 0u;
    }
    return window != 0u && uint(q) - uint(k) >= window;
}

// A key's weight exp(v - m) against the running maximum m of an online softmax, with vkattn.h's special values: 0
// for a hidden key (v = -inf, also when m = -inf), 1 where v == m (so +inf scores share the mass equally).
float key_weight(float v, float m)
{
    if (v == NEG_INF) {
        return 0.0;
    }
    return v == m ? 1.0 : exp(v - m);
}
