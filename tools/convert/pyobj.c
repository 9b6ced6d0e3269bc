/* Object tree of an interpreted pickle: heap, constructors and read helpers. */
#include "pyobj.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_BYTES (256u * 1024u)
#define ALIGN 16u

struct ct_py_chunk {
    ct_py_chunk *next;
    size_t size, used;
    _Alignas(16) unsigned char data[];
};

void ct_py_heap_init(ct_py_heap *h, size_t limit_bytes) {
    memset(h, 0, sizeof *h);
    h->limit = limit_bytes;
}

void ct_py_heap_free(ct_py_heap *h) {
    for (ct_py_chunk *c = h->chunks, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    free(h->storages);
    memset(h, 0, sizeof *h);
}

void *ct_py_alloc(ct_py_heap *h, size_t bytes) {
    if (bytes > h->limit) return NULL;
    size_t need = (bytes + ALIGN - 1) & ~(size_t)(ALIGN - 1);
    if (need > h->limit - h->used) return NULL;
    ct_py_chunk *c = h->chunks;
    if (!c || c->size - c->used < need) {
        size_t size = need > CHUNK_BYTES ? need : CHUNK_BYTES;
        c = malloc(sizeof *c + size);
        if (!c) return NULL;
        c->size = size;
        c->used = 0;
        /* A dedicated chunk for a big block goes behind the current one, which stays open. */
        if (size > CHUNK_BYTES && h->chunks) {
            c->next = h->chunks->next;
            h->chunks->next = c;
        } else {
            c->next = h->chunks;
            h->chunks = c;
        }
    }
    void *p = c->data + c->used;
    c->used += need;
    h->used += need;
    memset(p, 0, bytes);
    return p;
}

ct_pyobj *ct_py_new(ct_py_heap *h, ct_py_kind kind) {
    ct_pyobj *o = ct_py_alloc(h, sizeof *o);
    if (o) o->kind = kind;
    return o;
}

int ct_py_seq_push(ct_py_heap *h, ct_py_seq *seq, ct_pyobj *item) {
    if (seq->len == seq->cap) {
        size_t cap = seq->cap ? 2 * seq->cap : 4;
        if (cap > SIZE_MAX / sizeof *seq->items) return 0;
        ct_pyobj **items = ct_py_alloc(h, cap * sizeof *items);
        if (!items) return 0;
        if (seq->len) memcpy(items, seq->items, seq->len * sizeof *items);
        seq->items = items;
        seq->cap = cap;
    }
    seq->items[seq->len++] = item;
    return 1;
}

int ct_py_heap_add_storage(ct_py_heap *h, ct_pyobj *storage) {
    if (h->num_storages == h->cap_storages) {
        size_t cap = h->cap_storages ? 2 * h->cap_storages : 64;
        size_t bytes = cap * sizeof *h->storages;
        if (bytes > h->limit - h->used) return 0;   /* counts against the same budget */
        ct_pyobj **grown = realloc(h->storages, bytes);
        if (!grown) return 0;
        h->storages = grown;
        h->cap_storages = cap;
    }
    h->storages[h->num_storages++] = storage;
    return 1;
}

ct_pyobj *ct_py_none(void) {
    static ct_pyobj none = {.kind = CT_PY_NONE};
    return &none;
}

ct_pyobj *ct_py_bool(int value) {
    static ct_pyobj yes = {.kind = CT_PY_BOOL, .u.i = 1}, no = {.kind = CT_PY_BOOL, .u.i = 0};
    return value ? &yes : &no;
}

int ct_py_bytes_eq(ct_py_bytes b, const char *s) {
    size_t n = strlen(s);
    return b.len == n && memcmp(b.ptr, s, n) == 0;
}

int ct_py_is_str(const ct_pyobj *o, const char *s) {
    return o && o->kind == CT_PY_STR && ct_py_bytes_eq(o->u.s, s);
}

const ct_pyobj *ct_py_dict_get(const ct_pyobj *d, const char *key) {
    if (!d || d->kind != CT_PY_DICT) return NULL;
    for (size_t i = d->u.seq.len; i >= 2; i -= 2)
        if (ct_py_is_str(d->u.seq.items[i - 2], key)) return d->u.seq.items[i - 1];
    return NULL;
}

int ct_py_number(const ct_pyobj *o, double *out) {
    if (!o) return 0;
    if (o->kind == CT_PY_INT || o->kind == CT_PY_BOOL) {
        *out = (double)o->u.i;
        return 1;
    }
    if (o->kind == CT_PY_FLOAT) {
        *out = o->u.f;
        return 1;
    }
    return 0;
}

size_t ct_py_dtype_size(ct_py_dtype dt) {
    switch (dt) {
    case CT_DT_F64: case CT_DT_I64: return 8;
    case CT_DT_F32: case CT_DT_I32: return 4;
    case CT_DT_F16: case CT_DT_BF16: case CT_DT_I16: return 2;
    case CT_DT_I8: case CT_DT_U8: case CT_DT_BOOL: return 1;
    case CT_DT_UNKNOWN: break;
    }
    return 0;
}

const char *ct_py_dtype_name(ct_py_dtype dt) {
    static const char *names[] = {"unknown", "float32", "float64", "float16", "bfloat16",
                                  "int64", "int32", "int16", "int8", "uint8", "bool"};
    return (size_t)dt < sizeof names / sizeof names[0] ? names[dt] : "unknown";
}

static void describe_global(const char *what, const ct_pyobj *g, char *buf, size_t size) {
    if (g && g->kind == CT_PY_GLOBAL)
        snprintf(buf, size, "%s %.*s.%.*s", what, (int)g->u.global.module.len,
                 g->u.global.module.ptr, (int)g->u.global.name.len, g->u.global.name.ptr);
    else
        snprintf(buf, size, "%s of unknown class", what);
}

void ct_py_describe(const ct_pyobj *o, char *buf, size_t size) {
    if (!o) {
        snprintf(buf, size, "nothing");
        return;
    }
    switch (o->kind) {
    case CT_PY_NONE: snprintf(buf, size, "None"); break;
    case CT_PY_BOOL: snprintf(buf, size, "%s", o->u.i ? "True" : "False"); break;
    case CT_PY_INT: snprintf(buf, size, "%lld", (long long)o->u.i); break;
    case CT_PY_BIGINT: snprintf(buf, size, "an integer of %zu bytes", o->u.s.len); break;
    case CT_PY_FLOAT: snprintf(buf, size, "%.9g", o->u.f); break;
    case CT_PY_STR:
        snprintf(buf, size, "'%.*s'%s", (int)(o->u.s.len > 40 ? 40 : o->u.s.len), o->u.s.ptr,
                 o->u.s.len > 40 ? "..." : "");
        break;
    case CT_PY_TUPLE: snprintf(buf, size, "tuple of %zu", o->u.seq.len); break;
    case CT_PY_LIST: snprintf(buf, size, "list of %zu", o->u.seq.len); break;
    case CT_PY_DICT: snprintf(buf, size, "dict of %zu entries", o->u.seq.len / 2); break;
    case CT_PY_GLOBAL: describe_global("class", o, buf, size); break;
    case CT_PY_OBJECT: describe_global("object of", o->u.object.cls, buf, size); break;
    case CT_PY_STORAGE: snprintf(buf, size, "storage"); break;
    case CT_PY_TENSOR: snprintf(buf, size, "tensor"); break;
    }
}
