/* Protocol-2 pickle interpreter (see pickle.h): a stack machine over the
 * opcode subset torch.save emits, with a bounded stack, mark stack and memo. */
#include "pickle.h"

#include <stdlib.h>
#include <string.h>

typedef struct {
    const uint8_t *start, *p, *end;
    ct_py_heap *heap;
    ct_pyobj **stack;
    size_t sp, cap;
    size_t marks[CT_PICKLE_MAX_MARKS];
    size_t num_marks;
    ct_pyobj **memo;
    size_t memo_cap;
    ct_error *err;
} vm;

static size_t offset(const vm *m) { return (size_t)(m->p - m->start); }

static ct_status fail_format(vm *m, const char *what) {
    return ct_fail(m->err, CT_E_FORMAT, "pickle: %s at byte %zu", what, offset(m));
}

static ct_status fail_memory(vm *m) {
    return ct_fail(m->err, CT_E_LIMIT, "pickle: object tree exceeds its memory limit at byte %zu",
                   offset(m));
}

/* ---- operands ----------------------------------------------------------- */

static int take(vm *m, size_t n, const uint8_t **out) {
    if ((size_t)(m->end - m->p) < n) return 0;
    *out = m->p;
    m->p += n;
    return 1;
}

static uint64_t le(const uint8_t *b, int n) {
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--) v = v << 8 | b[i];
    return v;
}

/* ---- stack -------------------------------------------------------------- */

static size_t fence(const vm *m) { return m->num_marks ? m->marks[m->num_marks - 1] : 0; }

static ct_status push(vm *m, ct_pyobj *o) {
    if (!o) return fail_memory(m);
    if (m->sp == m->cap) {
        if (m->cap >= CT_PICKLE_MAX_STACK)
            return ct_fail(m->err, CT_E_LIMIT, "pickle: stack deeper than %u values at byte %zu",
                           CT_PICKLE_MAX_STACK, offset(m));
        size_t cap = m->cap ? 2 * m->cap : 256;
        ct_pyobj **grown = realloc(m->stack, cap * sizeof *grown);
        if (!grown) return fail_memory(m);
        m->stack = grown;
        m->cap = cap;
    }
    m->stack[m->sp++] = o;
    return CT_OK;
}

static ct_status pop(vm *m, ct_pyobj **out) {
    if (m->sp <= fence(m)) return fail_format(m, "stack underflow");
    *out = m->stack[--m->sp];
    return CT_OK;
}

static ct_status top(vm *m, ct_pyobj **out) {
    if (m->sp <= fence(m)) return fail_format(m, "stack underflow");
    *out = m->stack[m->sp - 1];
    return CT_OK;
}

static ct_status push_mark(vm *m) {
    if (m->num_marks == CT_PICKLE_MAX_MARKS)
        return ct_fail(m->err, CT_E_LIMIT, "pickle: nesting deeper than %u marks at byte %zu",
                       CT_PICKLE_MAX_MARKS, offset(m));
    m->marks[m->num_marks++] = m->sp;
    return CT_OK;
}

/* Removes the top mark; *first is the stack index of the first value above it. */
static ct_status pop_mark(vm *m, size_t *first) {
    if (!m->num_marks) return fail_format(m, "no MARK for a mark-delimited opcode");
    *first = m->marks[--m->num_marks];
    return CT_OK;
}

/* ---- memo --------------------------------------------------------------- */

static ct_status memo_put(vm *m, uint64_t index) {
    if (index >= CT_PICKLE_MAX_MEMO || index > (uint64_t)(m->end - m->start))
        return fail_format(m, "memo index out of range");
    if (index >= m->memo_cap) {
        size_t cap = m->memo_cap ? m->memo_cap : 256;
        while (cap <= index) cap *= 2;
        ct_pyobj **grown = realloc(m->memo, cap * sizeof *grown);
        if (!grown) return fail_memory(m);
        memset(grown + m->memo_cap, 0, (cap - m->memo_cap) * sizeof *grown);
        m->memo = grown;
        m->memo_cap = cap;
    }
    return top(m, &m->memo[index]);
}

static ct_status memo_get(vm *m, uint64_t index) {
    if (index >= m->memo_cap || !m->memo[index]) return fail_format(m, "memo lookup of an unset index");
    return push(m, m->memo[index]);
}

/* ---- scalars and strings ------------------------------------------------ */

static ct_status push_int(vm *m, int64_t v) {
    ct_pyobj *o = ct_py_new(m->heap, CT_PY_INT);
    if (o) o->u.i = v;
    return push(m, o);
}

static ct_status op_long1(vm *m) {
    const uint8_t *n, *b;
    if (!take(m, 1, &n) || !take(m, *n, &b)) return fail_format(m, "truncated LONG1");
    if (*n > 8) {
        ct_pyobj *o = ct_py_new(m->heap, CT_PY_BIGINT);
        if (o) o->u.s = (ct_py_bytes){(const char *)b, *n};
        return push(m, o);
    }
    uint64_t v = le(b, *n);
    if (*n && *n < 8 && (b[*n - 1] & 0x80)) v |= ~(uint64_t)0 << (8 * *n);   /* sign-extend */
    int64_t s;
    memcpy(&s, &v, sizeof s);
    return push_int(m, s);
}

static ct_status op_binfloat(vm *m) {
    const uint8_t *b;
    if (!take(m, 8, &b)) return fail_format(m, "truncated BINFLOAT");
    uint64_t bits = 0;
    for (int i = 0; i < 8; i++) bits = bits << 8 | b[i];   /* big-endian */
    ct_pyobj *o = ct_py_new(m->heap, CT_PY_FLOAT);
    if (o) memcpy(&o->u.f, &bits, sizeof o->u.f);
    return push(m, o);
}

/* A string whose length field is len_bytes wide (signed when is_signed). */
static ct_status op_string(vm *m, int len_bytes, int is_signed) {
    const uint8_t *lb, *s;
    if (!take(m, (size_t)len_bytes, &lb)) return fail_format(m, "truncated string length");
    uint64_t len = le(lb, len_bytes);
    if (is_signed && (len & 0x80000000u)) return fail_format(m, "negative string length");
    if (!take(m, len, &s)) return fail_format(m, "string runs past the end");
    ct_pyobj *o = ct_py_new(m->heap, CT_PY_STR);
    if (o) o->u.s = (ct_py_bytes){(const char *)s, (size_t)len};
    return push(m, o);
}

static ct_status read_line(vm *m, ct_py_bytes *out) {
    size_t room = (size_t)(m->end - m->p);
    if (room > CT_PICKLE_MAX_GLOBAL + 1) room = CT_PICKLE_MAX_GLOBAL + 1;
    const uint8_t *nl = memchr(m->p, '\n', room);
    if (!nl) return fail_format(m, "GLOBAL name too long or unterminated");
    *out = (ct_py_bytes){(const char *)m->p, (size_t)(nl - m->p)};
    m->p = nl + 1;
    return CT_OK;
}

static ct_status op_global(vm *m) {
    ct_pyobj *g = ct_py_new(m->heap, CT_PY_GLOBAL);
    if (!g) return fail_memory(m);
    ct_status st = read_line(m, &g->u.global.module);
    if (st == CT_OK) st = read_line(m, &g->u.global.name);
    return st == CT_OK ? push(m, g) : st;
}

/* ---- containers --------------------------------------------------------- */

static ct_status push_seq(vm *m, ct_py_kind kind, size_t first) {
    ct_pyobj *o = ct_py_new(m->heap, kind);
    if (!o) return fail_memory(m);
    for (size_t i = first; i < m->sp; i++)
        if (!ct_py_seq_push(m->heap, &o->u.seq, m->stack[i])) return fail_memory(m);
    m->sp = first;
    return push(m, o);
}

static ct_status op_tuple_n(vm *m, size_t n) {
    if (m->sp - fence(m) < n) return fail_format(m, "stack underflow");
    return push_seq(m, CT_PY_TUPLE, m->sp - n);
}

static ct_status op_tuple(vm *m) {
    size_t first = 0;
    ct_status st = pop_mark(m, &first);
    return st == CT_OK ? push_seq(m, CT_PY_TUPLE, first) : st;
}

/* Adds stack[first, sp) to the container below them (pairs for a dict). Calls on
 * an opaque object are dropped, as its real class is unknown. */
static ct_status fill_container(vm *m, size_t first, int pairs) {
    if (first == 0 || first <= fence(m)) return fail_format(m, "no container to add items to");
    ct_pyobj *target = m->stack[first - 1];
    if (pairs && (m->sp - first) % 2) return fail_format(m, "odd number of dict items");
    ct_py_kind want = pairs ? CT_PY_DICT : CT_PY_LIST;
    if (target->kind == want) {
        for (size_t i = first; i < m->sp; i++)
            if (!ct_py_seq_push(m->heap, &target->u.seq, m->stack[i])) return fail_memory(m);
    } else if (target->kind != CT_PY_OBJECT) {
        return fail_format(m, pairs ? "SETITEM on a non-dict" : "APPEND on a non-list");
    }
    m->sp = first;
    return CT_OK;
}

static ct_status op_fill_n(vm *m, size_t n, int pairs) {
    if (m->sp - fence(m) < n) return fail_format(m, "stack underflow");
    return fill_container(m, m->sp - n, pairs);
}

static ct_status op_fill_mark(vm *m, int pairs) {
    size_t first = 0;
    ct_status st = pop_mark(m, &first);
    return st == CT_OK ? fill_container(m, first, pairs) : st;
}

static ct_status op_pop_mark(vm *m) {
    size_t first = 0;
    ct_status st = pop_mark(m, &first);
    if (st == CT_OK) m->sp = first;
    return st;
}

/* ---- calls -------------------------------------------------------------- */

static int is_global(const ct_pyobj *o, const char *module, const char *name) {
    return o->kind == CT_PY_GLOBAL && ct_py_bytes_eq(o->u.global.module, module) &&
           ct_py_bytes_eq(o->u.global.name, name);
}

static ct_pyobj *new_object(vm *m, const ct_pyobj *cls, const ct_pyobj *args) {
    ct_pyobj *o = ct_py_new(m->heap, CT_PY_OBJECT);
    if (o) {
        o->u.object.cls = cls;
        o->u.object.args = args;
    }
    return o;
}

static ct_pyobj *new_tensor(vm *m, const ct_pyobj *fn, const ct_pyobj *args) {
    if (args->u.seq.len < 4) return new_object(m, fn, args);
    ct_pyobj *t = ct_py_new(m->heap, CT_PY_TENSOR);
    if (t) {
        t->u.tensor.storage = args->u.seq.items[0];
        t->u.tensor.offset = args->u.seq.items[1];
        t->u.tensor.size = args->u.seq.items[2];
        t->u.tensor.stride = args->u.seq.items[3];
    }
    return t;
}

/* The value of fn(*args) for the few functions torch checkpoints call, else an
 * opaque object recording the call. */
static ct_pyobj *call(vm *m, ct_pyobj *fn, ct_pyobj *args) {
    size_t n = args->u.seq.len;
    ct_pyobj *first = n ? args->u.seq.items[0] : NULL;
    if (is_global(fn, "collections", "OrderedDict") && n == 0) return ct_py_new(m->heap, CT_PY_DICT);
    if (is_global(fn, "torch._utils", "_rebuild_tensor_v2")) return new_tensor(m, fn, args);
    if (is_global(fn, "torch._utils", "_rebuild_parameter") && n >= 1 && first->kind == CT_PY_TENSOR)
        return first;
    if (is_global(fn, "torch", "Size") && n == 1 && first->kind == CT_PY_TUPLE) return first;
    if (is_global(fn, "torch.nn.backends.thnn", "_get_thnn_function_backend") && n == 0)
        return ct_py_none();
    if ((is_global(fn, "builtins", "set") || is_global(fn, "__builtin__", "set")) && n == 1 &&
        first->kind == CT_PY_LIST)
        return first;
    return new_object(m, fn, args);
}

static ct_status op_reduce(vm *m) {
    ct_pyobj *args = NULL, *fn = NULL;
    ct_status st = pop(m, &args);
    if (st == CT_OK) st = pop(m, &fn);
    if (st != CT_OK) return st;
    if (args->kind != CT_PY_TUPLE) return fail_format(m, "REDUCE arguments are not a tuple");
    return push(m, call(m, fn, args));
}

static ct_status op_newobj(vm *m) {
    ct_pyobj *args = NULL, *cls = NULL;
    ct_status st = pop(m, &args);
    if (st == CT_OK) st = pop(m, &cls);
    if (st != CT_OK) return st;
    if (args->kind != CT_PY_TUPLE) return fail_format(m, "NEWOBJ arguments are not a tuple");
    return push(m, new_object(m, cls, args));
}

/* BUILD: an object keeps its state; on anything else (an OrderedDict's
 * _metadata, a tensor's attributes) the state is ignored. */
static ct_status op_build(vm *m) {
    ct_pyobj *state = NULL, *obj = NULL;
    ct_status st = pop(m, &state);
    if (st == CT_OK) st = top(m, &obj);
    if (st == CT_OK && obj->kind == CT_PY_OBJECT) obj->u.object.state = state;
    return st;
}

static ct_py_dtype storage_dtype(ct_py_bytes name) {
    static const struct { const char *name; ct_py_dtype dt; } types[] = {
        {"FloatStorage", CT_DT_F32}, {"DoubleStorage", CT_DT_F64}, {"HalfStorage", CT_DT_F16},
        {"BFloat16Storage", CT_DT_BF16}, {"LongStorage", CT_DT_I64}, {"IntStorage", CT_DT_I32},
        {"ShortStorage", CT_DT_I16}, {"CharStorage", CT_DT_I8}, {"ByteStorage", CT_DT_U8},
        {"BoolStorage", CT_DT_BOOL}};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (ct_py_bytes_eq(name, types[i].name)) return types[i].dt;
    return CT_DT_UNKNOWN;
}

/* ('storage', cls, key, location, numel[, view_metadata=None]) */
static ct_pyobj *storage_pid(vm *m, const ct_pyobj *pid) {
    const ct_py_seq *t = &pid->u.seq;
    const ct_pyobj *cls = t->items[1], *key = t->items[2], *loc = t->items[3], *numel = t->items[4];
    int torch_class = cls->kind == CT_PY_GLOBAL && (ct_py_bytes_eq(cls->u.global.module, "torch") ||
                                                    ct_py_bytes_eq(cls->u.global.module, "torch.cuda"));
    int plain = t->len == 5 || (t->len == 6 && t->items[5]->kind == CT_PY_NONE);
    if (!torch_class || !plain || key->kind != CT_PY_STR || loc->kind != CT_PY_STR ||
        numel->kind != CT_PY_INT || numel->u.i < 0)
        return new_object(m, cls, pid);
    ct_pyobj *s = ct_py_new(m->heap, CT_PY_STORAGE);
    if (!s || !ct_py_heap_add_storage(m->heap, s)) return NULL;
    s->u.storage.dtype = storage_dtype(cls->u.global.name);
    s->u.storage.key = key->u.s;
    s->u.storage.location = loc->u.s;
    s->u.storage.numel = numel->u.i;
    return s;
}

static ct_status op_binpersid(vm *m) {
    ct_pyobj *pid = NULL;
    ct_status st = pop(m, &pid);
    if (st != CT_OK) return st;
    size_t n = pid->kind == CT_PY_TUPLE ? pid->u.seq.len : 0;
    if (n >= 5 && ct_py_is_str(pid->u.seq.items[0], "storage")) return push(m, storage_pid(m, pid));
    if (n >= 2 && ct_py_is_str(pid->u.seq.items[0], "module"))   /* legacy: the pid is the class */
        return push(m, pid->u.seq.items[1]);
    return push(m, new_object(m, NULL, pid));
}

/* ---- dispatch ----------------------------------------------------------- */

static ct_status op_arg(vm *m, int bytes, uint64_t *v) {
    const uint8_t *b;
    if (!take(m, (size_t)bytes, &b)) return fail_format(m, "truncated opcode argument");
    *v = le(b, bytes);
    return CT_OK;
}

/* Opcodes that take a fixed-width little-endian argument. */
static ct_status step_with_arg(vm *m, uint8_t op) {
    int bytes = (op == 'J' || op == 'r' || op == 'j') ? 4 : (op == 'M') ? 2 : 1;
    uint64_t v = 0;
    ct_status st = op_arg(m, bytes, &v);
    if (st != CT_OK) return st;
    switch (op) {
    case 0x80: return v <= 5 ? CT_OK : fail_format(m, "unknown pickle protocol");
    case 'J': return push_int(m, (int32_t)(uint32_t)v);
    case 'K': case 'M': return push_int(m, (int64_t)v);
    case 'q': case 'r': return memo_put(m, v);
    default: return memo_get(m, v);   /* 'h', 'j' */
    }
}

static ct_status step(vm *m, uint8_t op) {
    switch (op) {
    case 0x80: case 'J': case 'K': case 'M': case 'q': case 'r': case 'h': case 'j':
        return step_with_arg(m, op);
    case '(': return push_mark(m);
    case '0': { ct_pyobj *o = NULL; return pop(m, &o); }
    case '1': return op_pop_mark(m);
    case '}': return push(m, ct_py_new(m->heap, CT_PY_DICT));
    case ']': return push(m, ct_py_new(m->heap, CT_PY_LIST));
    case ')': return push(m, ct_py_new(m->heap, CT_PY_TUPLE));
    case 't': return op_tuple(m);
    case 0x85: case 0x86: case 0x87: return op_tuple_n(m, (size_t)(op - 0x84));
    case 's': return op_fill_n(m, 2, 1);
    case 'u': return op_fill_mark(m, 1);
    case 'a': return op_fill_n(m, 1, 0);
    case 'e': return op_fill_mark(m, 0);
    case 0x8a: return op_long1(m);
    case 'G': return op_binfloat(m);
    case 'X': return op_string(m, 4, 0);
    case 0x8c: case 'U': return op_string(m, 1, 0);
    case 'T': return op_string(m, 4, 1);
    case 'N': return push(m, ct_py_none());
    case 0x88: return push(m, ct_py_bool(1));
    case 0x89: return push(m, ct_py_bool(0));
    case 'c': return op_global(m);
    case 'R': return op_reduce(m);
    case 'b': return op_build(m);
    case 0x81: return op_newobj(m);
    case 'Q': return op_binpersid(m);
    }
    m->p--;
    if (op >= 0x20 && op < 0x7f)
        return ct_fail(m->err, CT_E_UNSUPPORTED,
                       "pickle: opcode 0x%02x ('%c') at byte %zu is outside the supported subset",
                       op, op, offset(m));
    return ct_fail(m->err, CT_E_UNSUPPORTED,
                   "pickle: opcode 0x%02x at byte %zu is outside the supported subset", op, offset(m));
}

ct_status ct_pickle_run(ct_py_heap *heap, const uint8_t *data, size_t size, size_t *consumed,
                        ct_pyobj **result, ct_error *err) {
    vm m = {.start = data, .p = data, .end = data + size, .heap = heap, .err = err};
    ct_status st = CT_OK;
    *result = NULL;
    for (;;) {
        if (m.p == m.end) {
            st = fail_format(&m, "ended without STOP");
            break;
        }
        uint8_t op = *m.p++;
        if (op == '.') {
            if (m.sp != 1 || m.num_marks)
                st = fail_format(&m, "STOP with other than one value on the stack");
            else
                *result = m.stack[0];
            break;
        }
        st = step(&m, op);
        if (st != CT_OK) break;
    }
    *consumed = (size_t)(m.p - data);
    free(m.stack);
    free(m.memo);
    return st;
}
