/* A bump allocator for one run's activations. Allocations are released in
 * LIFO order through marks, or all at once by ct_arena_reset. Memory comes in
 * chunks that never move; a reset after a run that needed several chunks
 * replaces them by one chunk of the high-water size, so a steady stream of
 * same-sized runs allocates nothing after the first. */
#ifndef CT_UTIL_ARENA_H
#define CT_UTIL_ARENA_H

#include <stddef.h>

#define CT_ARENA_MAX_CHUNKS 32

typedef struct {
    char *chunk[CT_ARENA_MAX_CHUNKS];
    size_t size[CT_ARENA_MAX_CHUNKS];
    int num_chunks;
    int cur;            /* chunk being filled */
    size_t used;        /* bytes used in chunk cur */
    size_t in_use;      /* bytes handed out, across chunks (incl. alignment) */
    size_t high_water;  /* max in_use since the last reset */
} ct_arena;

typedef struct {
    int chunk;
    size_t used, in_use;
} ct_arena_mark;

void ct_arena_init(ct_arena *a);
void ct_arena_free(ct_arena *a);
void ct_arena_reset(ct_arena *a);
/* 64-byte aligned; NULL when memory is exhausted. */
void *ct_arena_alloc(ct_arena *a, size_t bytes);
float *ct_arena_floats(ct_arena *a, size_t count);
ct_arena_mark ct_arena_get_mark(const ct_arena *a);
void ct_arena_release(ct_arena *a, ct_arena_mark m);

#endif
