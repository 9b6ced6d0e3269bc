/* MT19937 (Matsumoto & Nishimura), the reference init_genrand and tempering. */
#include "util/mt19937.h"

#define MT_N 624
#define MT_M 397

void ct_mt19937_seed(ct_mt19937 *mt, uint64_t seed) {
    mt->state[0] = (uint32_t)(seed & 0xffffffffu);
    for (int i = 1; i < MT_N; i++)
        mt->state[i] = 1812433253u * (mt->state[i - 1] ^ (mt->state[i - 1] >> 30)) + (uint32_t)i;
    mt->index = MT_N;
}

static void twist(ct_mt19937 *mt) {
    for (int i = 0; i < MT_N; i++) {
        uint32_t y = (mt->state[i] & 0x80000000u) | (mt->state[(i + 1) % MT_N] & 0x7fffffffu);
        uint32_t v = mt->state[(i + MT_M) % MT_N] ^ (y >> 1);
        mt->state[i] = (y & 1u) ? v ^ 0x9908b0dfu : v;
    }
    mt->index = 0;
}

uint32_t ct_mt19937_next(ct_mt19937 *mt) {
    if (mt->index >= MT_N) twist(mt);
    uint32_t y = mt->state[mt->index++];
    y ^= y >> 11;
    y ^= (y << 7) & 0x9d2c5680u;
    y ^= (y << 15) & 0xefc60000u;
    y ^= y >> 18;
    return y;
}

void ct_randperm(ct_mt19937 *mt, int n, int *r) {
    for (int i = 0; i < n; i++) r[i] = i;
    for (int i = 0; i + 1 < n; i++) {
        int z = (int)(ct_mt19937_next(mt) % (uint32_t)(n - i));
        int t = r[i];
        r[i] = r[i + z];
        r[i + z] = t;
    }
}
