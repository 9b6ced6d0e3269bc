/* The run arena (see arena.h). Chunks come straight from the kernel (mmap)
 * and go back to it when freed: malloc would keep large freed blocks in its
 * heap (its mmap threshold rises after each one), and a process that loads
 * models or sizes sessions repeatedly would grow. Chunks of 2 MB and more
 * are aligned to 2 MB and offered for transparent huge pages (Linux), which
 * makes first touching tens of megabytes of weights or activations hundreds
 * of times fewer page faults. */
/* MAP_ANONYMOUS and MADV_HUGEPAGE are visible with _DEFAULT_SOURCE. */
#define _DEFAULT_SOURCE
#include "util/arena.h"

#include <stdint.h>
#include <sys/mman.h>

#define ARENA_ALIGN 64
#define ARENA_MIN_CHUNK ((size_t)1 << 20)
#define PAGE ((size_t)4096)
#define HUGE_PAGE ((size_t)2 << 20)

static size_t round_up(size_t v, size_t m) { return (v + m - 1) / m * m; }

/* The size a chunk of `bytes` is mapped with (its usable size), 0 on overflow. */
static size_t chunk_size(size_t bytes) {
    size_t unit = bytes >= HUGE_PAGE ? HUGE_PAGE : PAGE, size = round_up(bytes, unit);
    return size < bytes ? 0 : size;
}

/* A zeroed chunk of chunk_size(bytes) bytes, or NULL. */
static void *chunk_alloc(size_t bytes) {
    size_t size = chunk_size(bytes), extra = size >= HUGE_PAGE ? HUGE_PAGE : 0;
    if (!size || size + extra < size) return NULL;
    char *p = mmap(NULL, size + extra, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    if (!extra) return p;
    char *aligned = (char *)round_up((uintptr_t)p, HUGE_PAGE);
    size_t head = (size_t)(aligned - p);
    if (head) munmap(p, head);
    if (extra - head) munmap(aligned + size, extra - head);
#ifdef MADV_HUGEPAGE
    madvise(aligned, size, MADV_HUGEPAGE);   /* advice only: failure changes nothing */
#endif
    return aligned;
}

void ct_arena_init(ct_arena *a) { *a = (ct_arena){0}; }

void ct_arena_free(ct_arena *a) {
    for (int i = 0; i < a->num_chunks; i++) munmap(a->chunk[i], a->size[i]);
    ct_arena_init(a);
}

void ct_arena_reset(ct_arena *a) {
    if (a->num_chunks > 1) {
        size_t total = a->high_water;
        ct_arena_free(a);
        a->chunk[0] = chunk_alloc(total);
        if (a->chunk[0]) {
            a->size[0] = chunk_size(total);
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
        char *p = chunk_alloc(size);
        if (!p) return NULL;
        a->chunk[a->num_chunks] = p;
        a->size[a->num_chunks] = chunk_size(size);
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
