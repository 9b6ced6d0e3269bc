/* SHA-256 (FIPS 180-4) for tests that compare decoded data with published
 * digests. */
#ifndef CT_TEST_SHA256_H
#define CT_TEST_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t state[8];
    uint64_t total;          /* bytes hashed so far */
    uint8_t block[64];
    size_t used;             /* bytes waiting in block */
} sha256_ctx;

void sha256_init(sha256_ctx *ctx);
void sha256_update(sha256_ctx *ctx, const void *data, size_t len);
void sha256_final(sha256_ctx *ctx, uint8_t digest[32]);

/* The digest of data as 64 lowercase hex digits plus NUL. */
void sha256_hex(const void *data, size_t len, char hex[65]);

#endif
