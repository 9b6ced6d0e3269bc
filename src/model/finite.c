/* Non-finite weight detection (see finite.h). A value is NaN or infinite
 * exactly when all its exponent bits are set; whole blocks are scanned
 * branch-free (vectorized) and only a block that has one, or the short last
 * block, is searched value by value. */
#include "model/finite.h"


#include "util/error.h"

#define BLOCK 1024   /* values per branch-free pass */
#define F32_EXPONENT 0x7F800000u
#define F16_EXPONENT 0x7C00u

/* Bit 31 is set exactly when every exponent bit is: adding the exponent's
 * lowest bit carries into bit 31 (bit 15 for float16). Sums of flags OR
 * together without branches. */
static uint32_t f32_flag(uint32_t bits) { return (bits & F32_EXPONENT) + 0x00800000u; }
static uint32_t f16_flag(uint16_t bits) { return (uint32_t)(bits & F16_EXPONENT) + 0x0400u; }
static int f32_bad(uint32_t bits) { return (f32_flag(bits) >> 31) != 0; }
static int f16_bad(uint16_t bits) { return (f16_flag(bits) >> 15) != 0; }

/* The OR of the flags of one whole block: a fixed trip count, which the
 * compiler vectorizes even at -O2. */
static uint32_t f32_block_flags(const uint32_t *bits) {
    uint32_t any = 0;
    for (int i = 0; i < BLOCK; i++) any |= f32_flag(bits[i]);
    return any;
}

static uint32_t f16_block_flags(const uint16_t *bits) {
    uint32_t any = 0;
    for (int i = 0; i < BLOCK; i++) any |= f16_flag(bits[i]);
    return any;
}

size_t ct_first_nonfinite_f32(const float *v, size_t n) {
    const uint32_t *bits = (const void *)v;
    for (size_t start = 0; start < n; start += BLOCK) {
        size_t end = n - start < BLOCK ? n : start + BLOCK;
        if (end - start == BLOCK && !(f32_block_flags(bits + start) >> 31)) continue;
        for (size_t i = start; i < end; i++)
            if (f32_bad(bits[i])) return i;
    }
    return n;
}

size_t ct_first_nonfinite_f16(const uint16_t *v, size_t n) {
    for (size_t start = 0; start < n; start += BLOCK) {
        size_t end = n - start < BLOCK ? n : start + BLOCK;
        if (end - start == BLOCK && !((f16_block_flags(v + start) >> 15) & 1)) continue;
        for (size_t i = start; i < end; i++)
            if (f16_bad(v[i])) return i;
    }
    return n;
}

/* "NaN", "+Inf" or "-Inf" for the bits of a bad value with the given sign and mantissa. */
static const char *describe(int negative, int mantissa_nonzero) {
    return mantissa_nonzero ? "NaN" : negative ? "-Inf" : "+Inf";
}

ct_status ct_modelfile_check_finite(const ct_modelfile *mf, ct_error *err) {
    for (size_t t = 0; t < ct_modelfile_count(mf); t++) {
        const ctm_tensor_entry *e = ct_modelfile_entry(mf, t);
        const void *data = ct_modelfile_data(mf, e);
        size_t n = ct_modelfile_numel(e), i;
        const char *what;
        if (e->dtype == CTM_DTYPE_F16) {
            const uint16_t *h = data;
            if ((i = ct_first_nonfinite_f16(h, n)) == n) continue;
            what = describe(h[i] >> 15, (h[i] & 0x3FFu) != 0);
        } else {
            const uint32_t *f = data;
            if ((i = ct_first_nonfinite_f32(data, n)) == n) continue;
            what = describe((int)(f[i] >> 31), (f[i] & 0x7FFFFFu) != 0);
        }
        return ct_fail(err, CT_E_FORMAT, "tensor %s holds NaN/Inf (element %zu is %s)", e->name, i, what);
    }
    return CT_OK;
}
