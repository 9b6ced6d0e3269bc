/* The generic object tree a pickle builds (dicts, lists, tuples, scalars,
 * class references, opaque objects, storages, tensors), allocated from one
 * bounded heap that is freed as a whole. Nothing here runs Python code. */
#ifndef CT_CONVERT_PYOBJ_H
#define CT_CONVERT_PYOBJ_H

#include <stddef.h>
#include <stdint.h>

typedef enum {
    CT_PY_NONE, CT_PY_BOOL, CT_PY_INT, CT_PY_BIGINT, CT_PY_FLOAT, CT_PY_STR,
    CT_PY_TUPLE, CT_PY_LIST, CT_PY_DICT,
    CT_PY_GLOBAL,   /* a class or function reference (module, name), never resolved */
    CT_PY_OBJECT,   /* an instance or the result of an unknown call: opaque */
    CT_PY_STORAGE,  /* a torch storage persistent id */
    CT_PY_TENSOR    /* torch._utils._rebuild_tensor_v2(...) with its raw arguments */
} ct_py_kind;

/* Storage element types, from the storage class name. */
typedef enum {
    CT_DT_UNKNOWN = 0, CT_DT_F32, CT_DT_F64, CT_DT_F16, CT_DT_BF16,
    CT_DT_I64, CT_DT_I32, CT_DT_I16, CT_DT_I8, CT_DT_U8, CT_DT_BOOL
} ct_py_dtype;

/* Bytes inside the input buffer; not NUL-terminated. */
typedef struct {
    const char *ptr;
    size_t len;
} ct_py_bytes;

typedef struct ct_pyobj ct_pyobj;

typedef struct {
    ct_pyobj **items;   /* DICT: key0, value0, key1, value1, ... in insertion order */
    size_t len, cap;
} ct_py_seq;

struct ct_pyobj {
    ct_py_kind kind;
    union {
        int64_t i;                 /* BOOL (0/1), INT */
        double f;                  /* FLOAT */
        ct_py_bytes s;             /* STR; BIGINT: little-endian two's complement bytes */
        ct_py_seq seq;             /* TUPLE, LIST, DICT */
        struct { ct_py_bytes module, name; } global;
        struct { const ct_pyobj *cls, *args, *state; } object;   /* args/state may be NULL */
        struct { ct_py_dtype dtype; ct_py_bytes key, location; int64_t numel; } storage;
        struct { const ct_pyobj *storage, *offset, *size, *stride; } tensor;
    } u;
};

/* Bump allocator with a byte limit; every object of one checkpoint lives here. */
typedef struct ct_py_chunk ct_py_chunk;
typedef struct {
    ct_py_chunk *chunks;
    size_t used, limit;        /* bytes handed out, and the most allowed */
    ct_pyobj **storages;       /* every storage object created, in creation order */
    size_t num_storages, cap_storages;
} ct_py_heap;

void ct_py_heap_init(ct_py_heap *h, size_t limit_bytes);
void ct_py_heap_free(ct_py_heap *h);
/* 16-byte aligned, zeroed; NULL once the limit would be exceeded or malloc fails. */
void *ct_py_alloc(ct_py_heap *h, size_t bytes);
ct_pyobj *ct_py_new(ct_py_heap *h, ct_py_kind kind);
/* Appends to a TUPLE/LIST/DICT sequence, growing it inside the heap; 0 on exhaustion. */
int ct_py_seq_push(ct_py_heap *h, ct_py_seq *seq, ct_pyobj *item);
/* Records a storage object in h->storages; 0 on exhaustion. */
int ct_py_heap_add_storage(ct_py_heap *h, ct_pyobj *storage);

/* Shared immutable singletons. */
ct_pyobj *ct_py_none(void);
ct_pyobj *ct_py_bool(int value);

int ct_py_bytes_eq(ct_py_bytes b, const char *s);
int ct_py_is_str(const ct_pyobj *o, const char *s);
/* The value of the last entry of dict `d` whose key is the string `key`, or NULL. */
const ct_pyobj *ct_py_dict_get(const ct_pyobj *d, const char *key);
/* Numbers: INT, BOOL or FLOAT as a double; 0 when o is not a number. */
int ct_py_number(const ct_pyobj *o, double *out);
/* Bytes per element of a storage dtype (0 for unknown). */
size_t ct_py_dtype_size(ct_py_dtype dt);
const char *ct_py_dtype_name(ct_py_dtype dt);
/* One-line description of o for messages and --info, e.g. "dict of 6 entries". */
void ct_py_describe(const ct_pyobj *o, char *buf, size_t size);

#endif
