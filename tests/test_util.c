/* Utility checks: CRC-32 against known values. */
#include "test.h"
#include "util/crc32.h"

#include <string.h>

static void test_crc32_known_values(void) {
    CHECK(ct_crc32(0, "", 0) == 0);
    CHECK(ct_crc32(0, "123456789", 9) == 0xCBF43926u);
    const char *s = "The quick brown fox jumps over the lazy dog";
    CHECK(ct_crc32(0, s, strlen(s)) == 0x414FA339u);
    /* Split anywhere: the CRC continues. */
    for (size_t cut = 0; cut <= strlen(s); cut++)
        CHECK(ct_crc32(ct_crc32(0, s, cut), s + cut, strlen(s) - cut) == 0x414FA339u);
}

int main(void) {
    RUN(test_crc32_known_values);
    return TEST_SUMMARY();
}
