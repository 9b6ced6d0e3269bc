/* CRC-32: the carry-less-multiply path (on CPUs that have it) against the
 * table twin on random data of every length around its 64- and 16-byte
 * steps, at every alignment, continued across splits. */
#include "test.h"

#include <stdint.h>
#include <string.h>

#include "util/crc32.h"

static uint8_t buf[70000];

static void test_fast_matches_table(void) {
    uint32_t s = 2463534242u;
    for (size_t i = 0; i < sizeof buf; i++) {
        s ^= s << 13, s ^= s >> 17, s ^= s << 5;
        buf[i] = (uint8_t)s;
    }
    int bad = 0;
    for (size_t len = 0; len < 300; len++)
        for (size_t off = 0; off < 16; off += 3) {
            uint32_t seed = (uint32_t)(len * 2654435761u);
            bad += ct_crc32(seed, buf + off, len) != ct_crc32_table(seed, buf + off, len);
        }
    CHECKF(bad == 0, "%d lengths/offsets differ", bad);
    CHECK(ct_crc32(0, buf, sizeof buf) == ct_crc32_table(0, buf, sizeof buf));
    CHECK(ct_crc32(0, buf + 1, sizeof buf - 1) == ct_crc32_table(0, buf + 1, sizeof buf - 1));
    /* Continued across splits that leave the fast path short pieces. */
    for (size_t cut = 0; cut < 200; cut += 7)
        CHECK(ct_crc32(ct_crc32(0, buf, cut), buf + cut, sizeof buf - cut) == ct_crc32_table(0, buf, sizeof buf));
}

static void test_known_values_long(void) {
    /* 1 MiB of zeros and of 0xFF (zlib: crc32 of b"\0" * 2**20 and b"\xff" * 2**20). */
    static uint8_t big[1 << 20];
    memset(big, 0, sizeof big);
    CHECK(ct_crc32(0, big, sizeof big) == 0xA738EA1Cu);
    memset(big, 0xFF, sizeof big);
    CHECK(ct_crc32(0, big, sizeof big) == ct_crc32_table(0, big, sizeof big));
}

int main(void) {
    RUN(test_fast_matches_table);
    RUN(test_known_values_long);
    return TEST_SUMMARY();
}
