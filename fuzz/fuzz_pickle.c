/* libFuzzer target: the pickle interpreter alone (tools/convert/pickle.c) on
 * any bytes. A failure must come with a message; a success must account for
 * the bytes it read, and the objects of the tree it built must be readable
 * (ASan sees any dangling pointer). */
#include <stdint.h>
#include <stdlib.h>

#include "pickle.h"
#include "pyobj.h"

#define HEAP_LIMIT (64u << 20)   /* the converter's base heap size */
#define MAX_DEPTH 64        /* of the walk below (lists may nest 500 000 deep) */
#define MAX_VISITS 100000   /* memo references make the tree a DAG, which a walk */
                            /* would otherwise visit exponentially often */

/* Touches objects reachable from o down to MAX_DEPTH, at most *budget of them. */
static void walk(const ct_pyobj *o, int depth, size_t *budget) {
    if (!o || depth > MAX_DEPTH || *budget == 0) return;
    --*budget;
    char what[160];
    ct_py_describe(o, what, sizeof what);
    switch (o->kind) {
    case CT_PY_TUPLE: case CT_PY_LIST: case CT_PY_DICT:
        for (size_t i = 0; i < o->u.seq.len; i++) walk(o->u.seq.items[i], depth + 1, budget);
        break;
    case CT_PY_OBJECT:
        walk(o->u.object.cls, depth + 1, budget);
        walk(o->u.object.args, depth + 1, budget);
        walk(o->u.object.state, depth + 1, budget);
        break;
    case CT_PY_TENSOR:
        walk(o->u.tensor.storage, depth + 1, budget);
        walk(o->u.tensor.size, depth + 1, budget);
        walk(o->u.tensor.stride, depth + 1, budget);
        walk(o->u.tensor.offset, depth + 1, budget);
        break;
    default:
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ct_py_heap heap;
    ct_py_heap_init(&heap, HEAP_LIMIT);
    ct_pyobj *root = NULL;
    size_t used = 0;
    ct_error err;
    err.message[0] = '\0';
    if (ct_pickle_run(&heap, data, size, &used, &root, &err) == CT_OK) {
        if (!root || used == 0 || used > size) abort();
        size_t budget = MAX_VISITS;
        walk(root, 0, &budget);
    } else if (!err.message[0]) {
        abort();
    }
    ct_py_heap_free(&heap);
    return 0;
}
