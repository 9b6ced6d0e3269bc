/* CRC-32: slicing-by-8 tables (eight look-ups per 8 input bytes) everywhere,
 * and on x86 CPUs with PCLMULQDQ the bulk folded with carry-less multiplies
 * (four 128-bit lanes, 64 bytes per step), picked once at run time. The
 * table version is the reference the folded one is tested against. */
#include "util/crc32.h"

#include <pthread.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define CT_CRC_PCLMUL 1
#endif

static uint32_t crc_table[8][256];
#ifdef CT_CRC_PCLMUL
static int have_pclmul;
#endif
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[0][n] = c;
    }
    for (uint32_t n = 0; n < 256; n++)
        for (int t = 1; t < 8; t++)
            crc_table[t][n] = (crc_table[t - 1][n] >> 8) ^ crc_table[0][crc_table[t - 1][n] & 0xFF];
#ifdef CT_CRC_PCLMUL
    have_pclmul = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse2");
#endif
}

/* The register update without the pre/post inversion. */
static uint32_t table_update(uint32_t crc, const uint8_t *p, size_t len) {
    while (len >= 8) {
        uint32_t lo = crc ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        uint32_t hi = (uint32_t)p[4] | (uint32_t)p[5] << 8 | (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24;
        crc = crc_table[7][lo & 0xFF] ^ crc_table[6][(lo >> 8) & 0xFF] ^
              crc_table[5][(lo >> 16) & 0xFF] ^ crc_table[4][lo >> 24] ^
              crc_table[3][hi & 0xFF] ^ crc_table[2][(hi >> 8) & 0xFF] ^
              crc_table[1][(hi >> 16) & 0xFF] ^ crc_table[0][hi >> 24];
        p += 8;
        len -= 8;
    }
    while (len--) crc = crc_table[0][(crc ^ *p++) & 0xFF] ^ (crc >> 8);
    return crc;
}

#ifdef CT_CRC_PCLMUL
/* Folding constants of the reflected polynomial 0xEDB88320: x^(512+32) and
 * x^(512-32) mod P (moving a lane 64 bytes on), x^(128+32) and x^(128-32)
 * mod P (16 bytes on), bit-reflected and shifted by one, as 33-bit values. */
#define FOLD4_LO 0x154442bd4ull
#define FOLD4_HI 0x1c6e41596ull
#define FOLD1_LO 0x1751997d0ull
#define FOLD1_HI 0x0ccaa009eull

/* x moved on by the distance k encodes, plus the data that meets it there. */
__attribute__((target("pclmul,sse2"))) static __m128i fold(__m128i x, __m128i k, __m128i data) {
    __m128i lo = _mm_clmulepi64_si128(x, k, 0x00), hi = _mm_clmulepi64_si128(x, k, 0x11);
    return _mm_xor_si128(_mm_xor_si128(lo, hi), data);
}

/* The register update for len >= 64 bytes. The message is folded into one
 * 128-bit value with the same remainder; the tables finish from there. */
__attribute__((target("pclmul,sse2"))) static uint32_t pclmul_update(uint32_t crc, const uint8_t *p, size_t len) {
    const __m128i k4 = _mm_set_epi64x((long long)FOLD4_HI, (long long)FOLD4_LO);
    const __m128i k1 = _mm_set_epi64x((long long)FOLD1_HI, (long long)FOLD1_LO);
    __m128i x0 = _mm_loadu_si128((const __m128i *)p), x1 = _mm_loadu_si128((const __m128i *)(p + 16));
    __m128i x2 = _mm_loadu_si128((const __m128i *)(p + 32)), x3 = _mm_loadu_si128((const __m128i *)(p + 48));
    x0 = _mm_xor_si128(x0, _mm_cvtsi32_si128((int)crc));
    for (p += 64, len -= 64; len >= 64; p += 64, len -= 64) {
        x0 = fold(x0, k4, _mm_loadu_si128((const __m128i *)p));
        x1 = fold(x1, k4, _mm_loadu_si128((const __m128i *)(p + 16)));
        x2 = fold(x2, k4, _mm_loadu_si128((const __m128i *)(p + 32)));
        x3 = fold(x3, k4, _mm_loadu_si128((const __m128i *)(p + 48)));
    }
    x0 = fold(fold(fold(x0, k1, x1), k1, x2), k1, x3);
    for (; len >= 16; p += 16, len -= 16) x0 = fold(x0, k1, _mm_loadu_si128((const __m128i *)p));
    uint8_t rest[16];
    _mm_storeu_si128((__m128i *)rest, x0);
    return table_update(table_update(0, rest, sizeof rest), p, len);
}
#endif

uint32_t ct_crc32_table(uint32_t crc, const void *data, size_t len) {
    pthread_once(&crc_once, crc_init);
    return ~table_update(~crc, data, len);
}

uint32_t ct_crc32(uint32_t crc, const void *data, size_t len) {
    pthread_once(&crc_once, crc_init);
#ifdef CT_CRC_PCLMUL
    if (have_pclmul && len >= 64) return ~pclmul_update(~crc, data, len);
#endif
    return ~table_update(~crc, data, len);
}
