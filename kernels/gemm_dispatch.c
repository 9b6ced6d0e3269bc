/* Picks the GEMM micro-kernel once per process from the CPU's features
 * (x86: cpuid, and xgetbv for the OS's register-state support; AArch64:
 * NEON is always there). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gemm_ukernel.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#define CT_X86 1
#endif

static const ct_gemm_kernel PORTABLE = {"portable", ct_ukernel_portable};
#ifdef CT_X86
static const ct_gemm_kernel AVX2 = {"avx2", ct_ukernel_avx2};

static unsigned long long xgetbv0(void) {
    unsigned eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

/* 1 when AVX2 and FMA are usable (CPU and OS), else 0. */
static int x86_has_avx2_fma(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    int fma = (c >> 12) & 1, osxsave = (c >> 27) & 1, avx = (c >> 28) & 1;
    if (!fma || !osxsave || !avx) return 0;
    unsigned long long xcr0 = xgetbv0();
    if ((xcr0 & 0x6) != 0x6) return 0;                     /* XMM and YMM state */
    if (__get_cpuid_max(0, NULL) < 7) return 0;
    __cpuid_count(7, 0, a, b, c, d);
    return (b >> 5) & 1;                                   /* AVX2 */
}
#endif
#if defined(__aarch64__)
static const ct_gemm_kernel NEON = {"neon", ct_ukernel_neon};
#endif

static const ct_gemm_kernel *available[2];
static int num_available;
static const ct_gemm_kernel *best;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void detect(void) {
    available[num_available++] = &PORTABLE;
#ifdef CT_X86
    if (x86_has_avx2_fma()) available[num_available++] = &AVX2;
#endif
#if defined(__aarch64__)
    available[num_available++] = &NEON;
#endif
    best = available[num_available - 1];
    const char *want = getenv("CT_GEMM_KERNEL");
    if (want) {
        best = &PORTABLE;
        for (int i = 0; i < num_available; i++)
            if (!strcmp(want, available[i]->name)) best = available[i];
    }
}

const ct_gemm_kernel *ct_gemm_kernel_best(void) {
    pthread_once(&once, detect);
    return best;
}

int ct_gemm_kernels_available(const ct_gemm_kernel **out, int max) {
    pthread_once(&once, detect);
    int n = num_available < max ? num_available : max;
    for (int i = 0; i < n; i++) out[i] = available[i];
    return n;
}
