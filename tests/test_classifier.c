/* The classifier's random fixed-batch replication reproduces torch exactly. */
#include "test.h"

#include "net/classifier.h"
#include "rng_vectors.h"
#include "util/mt19937.h"

static void test_randperm_matches_torch(void) {
    for (size_t c = 0; c < sizeof RANDPERM_CASES / sizeof *RANDPERM_CASES; c++) {
        const randperm_case *rc = &RANDPERM_CASES[c];
        ct_mt19937 mt;
        ct_mt19937_seed(&mt, rc->seed);
        int perm[254];
        ct_randperm(&mt, rc->n, perm);
        for (int i = 0; i < rc->n; i++)
            CHECKF(perm[i] == rc->perm[i], "seed %u n %d: perm[%d] = %d, torch %d", rc->seed, rc->n, i,
                   perm[i], rc->perm[i]);
    }
}

static void test_replication_matches_torch(void) {
    for (size_t c = 0; c < sizeof REPLICATION_CASES / sizeof *REPLICATION_CASES; c++) {
        const replication_case *rc = &REPLICATION_CASES[c];
        int index[256], scratch[256];
        ct_replicate_rows(rc->K, rc->D, rc->seed, index, scratch);
        for (int i = 0; i < rc->D; i++)
            CHECKF(index[i] == rc->index[i], "K %d D %d seed %u: index[%d] = %d, torch %d", rc->K, rc->D,
                   rc->seed, i, index[i], rc->index[i]);
    }
}

static void test_no_replication_when_full(void) {
    int index[128], scratch[128];
    ct_replicate_rows(128, 128, 7, index, scratch);
    for (int i = 0; i < 128; i++) CHECK(index[i] == i);
}

int main(void) {
    RUN(test_randperm_matches_torch);
    RUN(test_replication_matches_torch);
    RUN(test_no_replication_when_full);
    return TEST_SUMMARY();
}
