/* The reference twin of ct_gemm: a plain triple loop, k innermost, then the
 * epilogue in the documented order. Slow and obviously right. */
#include "gemm.h"

void ct_gemm_naive(int M, int N, int K,
                   const float *A, ptrdiff_t rs_a, ptrdiff_t cs_a,
                   const float *B, ptrdiff_t rs_b, ptrdiff_t cs_b,
                   float *C, ptrdiff_t ldc, const ct_epilogue *ep) {
    for (int i = 0; i < M; i++) {
        for (int j = 0; j < N; j++) {
            float v = 0.0f;
            for (int k = 0; k < K; k++)
                v += A[i * rs_a + k * cs_a] * B[k * rs_b + j * cs_b];
            if (ep && ep->bias_m) v += ep->bias_m[i];
            if (ep && ep->bias_n) v += ep->bias_n[j];
            if (ep && ep->residual) v += ep->residual[i * ldc + j];
            if (ep && ep->relu && v < 0.0f) v = 0.0f;
            C[i * ldc + j] = v;
        }
    }
}
