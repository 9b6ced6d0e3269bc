/* Tensor records: validation and gathering to contiguous float32 (see tensor.h). */
#include "tensor.h"

#include <string.h>

#include "util/half.h"

#define MAX_DIM    0xFFFFFFFFull       /* the model file stores u32 dims */
#define MAX_STRIDE (1ull << 48)

static int mul_ok(uint64_t a, uint64_t b, uint64_t *out) {
    if (a && b > UINT64_MAX / a) return 0;
    *out = a * b;
    return 1;
}

static int int_in(const ct_pyobj *o, uint64_t max, uint64_t *out) {
    if (!o || o->kind != CT_PY_INT || o->u.i < 0 || (uint64_t)o->u.i > max) return 0;
    *out = (uint64_t)o->u.i;
    return 1;
}

ct_status ct_tensor_view_parse(const ct_pyobj *t, ct_tensor_view *v, ct_error *err) {
    memset(v, 0, sizeof *v);
    if (t->kind != CT_PY_TENSOR) return ct_fail(err, CT_E_FORMAT, "is not a tensor");
    const ct_pyobj *s = t->u.tensor.storage, *size = t->u.tensor.size, *stride = t->u.tensor.stride;
    if (s->kind != CT_PY_STORAGE) return ct_fail(err, CT_E_FORMAT, "has no readable storage");
    if (size->kind != CT_PY_TUPLE || stride->kind != CT_PY_TUPLE || size->u.seq.len != stride->u.seq.len)
        return ct_fail(err, CT_E_FORMAT, "has malformed sizes or strides");
    if (size->u.seq.len > CTM_MAX_RANK)
        return ct_fail(err, CT_E_UNSUPPORTED, "has rank %zu (at most %u supported)", size->u.seq.len,
                       CTM_MAX_RANK);
    if (!int_in(t->u.tensor.offset, MAX_STRIDE, &v->offset))
        return ct_fail(err, CT_E_FORMAT, "has an invalid storage offset");
    v->storage = s;
    v->dtype = s->u.storage.dtype;
    v->rank = (uint32_t)size->u.seq.len;
    v->numel = 1;
    for (uint32_t i = 0; i < v->rank; i++) {
        uint64_t d;
        if (!int_in(size->u.seq.items[i], MAX_DIM, &d) ||
            !int_in(stride->u.seq.items[i], MAX_STRIDE, &v->strides[i]))
            return ct_fail(err, CT_E_FORMAT, "has an invalid size or stride in dimension %u", i);
        v->dims[i] = (uint32_t)d;
        if (!mul_ok(v->numel, d, &v->numel))
            return ct_fail(err, CT_E_LIMIT, "has too many elements");
    }
    return CT_OK;
}

int ct_tensor_is_float(const ct_tensor_view *v) {
    return v->dtype == CT_DT_F32 || v->dtype == CT_DT_F64 || v->dtype == CT_DT_F16;
}

/* One past the largest element index the view touches (0 for an empty view). */
static int view_extent(const ct_tensor_view *v, uint64_t *extent) {
    uint64_t last = v->offset;
    if (v->numel == 0) {
        *extent = 0;
        return 1;
    }
    for (uint32_t i = 0; i < v->rank; i++) {
        uint64_t step;
        if (!mul_ok(v->dims[i] - 1ull, v->strides[i], &step) || last > UINT64_MAX - step) return 0;
        last += step;
    }
    *extent = last + 1;
    return 1;
}

static float element(const uint8_t *base, ct_py_dtype dt, uint64_t index) {
    switch (dt) {
    case CT_DT_F64: {
        double d;
        memcpy(&d, base + index * 8, 8);
        return (float)d;
    }
    case CT_DT_F16: {
        uint16_t h;
        memcpy(&h, base + index * 2, 2);
        return ct_half_to_float1(h);
    }
    default: {
        float f;
        memcpy(&f, base + index * 4, 4);
        return f;
    }
    }
}

static int is_contiguous(const ct_tensor_view *v) {
    uint64_t expect = 1;
    for (uint32_t i = v->rank; i-- > 0;) {
        if (v->dims[i] != 1 && v->strides[i] != expect) return 0;
        expect *= v->dims[i];
    }
    return 1;
}

/* Row-major walk over up to four dimensions (missing ones have size 1). */
static void gather(const ct_tensor_view *v, const uint8_t *base, float *dst /* [numel] */) {
    uint64_t dims[CTM_MAX_RANK] = {1, 1, 1, 1}, strides[CTM_MAX_RANK] = {0, 0, 0, 0};
    uint32_t pad = CTM_MAX_RANK - v->rank;
    for (uint32_t i = 0; i < v->rank; i++) {
        dims[pad + i] = v->dims[i];
        strides[pad + i] = v->strides[i];
    }
    for (uint64_t a = 0; a < dims[0]; a++)
        for (uint64_t b = 0; b < dims[1]; b++)
            for (uint64_t c = 0; c < dims[2]; c++) {
                uint64_t at = v->offset + a * strides[0] + b * strides[1] + c * strides[2];
                for (uint64_t d = 0; d < dims[3]; d++) *dst++ = element(base, v->dtype, at + d * strides[3]);
            }
}

ct_status ct_tensor_view_read(ct_archive *a, const ct_tensor_view *v, float *dst /* [numel] */,
                             ct_error *err) {
    if (!ct_tensor_is_float(v))
        return ct_fail(err, CT_E_UNSUPPORTED, "has dtype %s, not a floating-point type",
                       ct_py_dtype_name(v->dtype));
    const uint8_t *bytes;
    uint64_t nbytes, extent, want;
    ct_status st = ct_archive_storage(a, v->storage, &bytes, &nbytes, err);
    if (st != CT_OK) return st;
    int64_t numel = v->storage->u.storage.numel;
    size_t elem = ct_py_dtype_size(v->dtype);
    if (!mul_ok((uint64_t)numel, elem, &want) || want != nbytes)
        return ct_fail(err, CT_E_FORMAT, "storage claims %lld elements but its record holds %llu bytes",
                       (long long)numel, (unsigned long long)nbytes);
    if (!view_extent(v, &extent) || extent > (uint64_t)numel)
        return ct_fail(err, CT_E_FORMAT, "reaches outside its storage of %lld elements",
                       (long long)numel);
    if (v->dtype == CT_DT_F32 && is_contiguous(v))
        memcpy(dst, bytes + v->offset * 4, v->numel * 4);
    else
        gather(v, bytes, dst);
    return CT_OK;
}
