/* The run arena (see arena.h). */
#include "util/arena.h"

#include <stdlib.h>

#define ARENA_ALIGN 64
#define ARENA_MIN_CHUNK ((size_t)1 << 20)

void ct_arena_init(ct_arena *a) { *a = (ct_arena){0}; }

void ct_arena_free(ct_arena *a) {
    for (int i = 0; i < a->num_chunks; i++) free(a->chunk[i]);
    ct_arena_init(a);
}

void ct_arena_reset(ct_arena *a) {
    if (a->num_chunks > 1) {
        size_t total = a->high_water;
        ct_arena_free(a);
        a->chunk[0] = aligned_alloc(ARENA_ALIGN, (total + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN);
        if (a->chunk[0]) {
            a->size[0] = (total + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
            a->num_chunks = 1;
        }
        a->high_water = total;   /* remembered for the next consolidation */
    }
    a->cur = 0;
    a->used = 0;
    a->in_use = 0;
}

void *ct_arena_alloc(ct_arena *a, size_t bytes) {
    size_t need = (bytes + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
    if (need < bytes) return NULL;
    while (a->cur < a->num_chunks && a->used + need > a->size[a->cur]) {
        a->cur++;
        a->used = 0;
    }
    if (a->cur == a->num_chunks) {
        if (a->num_chunks == CT_ARENA_MAX_CHUNKS) return NULL;
        size_t size = need > ARENA_MIN_CHUNK ? need : ARENA_MIN_CHUNK;
        if (a->num_chunks && size < 2 * a->size[a->num_chunks - 1]) size = 2 * a->size[a->num_chunks - 1];
        char *p = aligned_alloc(ARENA_ALIGN, size);
        if (!p) return NULL;
        a->chunk[a->num_chunks] = p;
        a->size[a->num_chunks] = size;
        a->num_chunks++;
    }
    void *p = a->chunk[a->cur] + a->used;
    a->used += need;
    a->in_use += need;
    if (a->in_use > a->high_water) a->high_water = a->in_use;
    return p;
}

float *ct_arena_floats(ct_arena *a, size_t count) {
    if (count > ((size_t)-1) / sizeof(float)) return NULL;
    return ct_arena_alloc(a, count * sizeof(float));
}

ct_arena_mark ct_arena_get_mark(const ct_arena *a) {
    return (ct_arena_mark){a->cur, a->used, a->in_use};
}

void ct_arena_release(ct_arena *a, ct_arena_mark m) {
    a->cur = m.chunk;
    a->used = m.used;
    a->in_use = m.in_use;
}
