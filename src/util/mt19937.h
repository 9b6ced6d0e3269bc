/* The 32-bit Mersenne Twister as torch's CPU generator uses it, and torch's
 * CPU randperm on top of it (spec §10.3). */
#ifndef CT_UTIL_MT19937_H
#define CT_UTIL_MT19937_H

#include <stdint.h>

typedef struct {
    uint32_t state[624];
    int index;
} ct_mt19937;

/* torch.manual_seed(seed): init_genrand(seed & 0xffffffff). */
void ct_mt19937_seed(ct_mt19937 *mt, uint64_t seed);
uint32_t ct_mt19937_next(ct_mt19937 *mt);

/* torch.randperm(n) on the CPU: r = 0..n-1, then for i in [0, n-2]:
 * swap(r[i], r[i + next() % (n - i)]). */
void ct_randperm(ct_mt19937 *mt, int n, int *r);

#endif
