/* The thread pool runs every task exactly once, loop after loop. */
#include "test.h"

#include <stdatomic.h>

#include "threadpool.h"

typedef struct {
    atomic_int hits[1000];
    atomic_int bad_thread;
    int size;
} counts;

static void count_task(void *ctx, int index, int thread) {
    counts *c = ctx;
    atomic_fetch_add(&c->hits[index], 1);
    if (thread < 0 || thread >= c->size) atomic_fetch_add(&c->bad_thread, 1);
}

static void test_every_task_runs_once(void) {
    for (int threads = 1; threads <= 4; threads++) {
        ct_pool *pool = ct_pool_new(threads);
        CHECK(pool != NULL);
        if (!pool) continue;
        CHECK(ct_pool_size(pool) == threads);
        static counts c;
        for (int loop = 0; loop < 300; loop++) {
            int n = 1 + (loop * 37) % 1000;
            for (int i = 0; i < n; i++) atomic_store(&c.hits[i], 0);
            atomic_store(&c.bad_thread, 0);
            c.size = threads;
            ct_pool_run(pool, n, count_task, &c);
            int wrong = 0;
            for (int i = 0; i < n; i++) wrong += atomic_load(&c.hits[i]) != 1;
            CHECKF(wrong == 0, "threads %d loop %d: %d tasks not run exactly once", threads, loop, wrong);
            CHECK(atomic_load(&c.bad_thread) == 0);
        }
        ct_pool_free(pool);
    }
}

static void test_null_pool_runs_inline(void) {
    static counts c;
    c.size = 1;
    ct_pool_run(NULL, 10, count_task, &c);
    for (int i = 0; i < 10; i++) CHECK(atomic_load(&c.hits[i]) == 1);
    CHECK(ct_pool_size(NULL) == 1);
    CHECK(ct_cpu_count() >= 1);
}

int main(void) {
    RUN(test_every_task_runs_once);
    RUN(test_null_pool_runs_inline);
    return TEST_SUMMARY();
}
