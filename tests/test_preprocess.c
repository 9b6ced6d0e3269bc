/* The backbone input's zero padding. A session reuses its arena run after
 * run, and only the padding is zeroed (the image part is written anyway), so
 * a smaller image after a larger one must still see zeros around it. */
#include "test.h"

#include <string.h>

#include "net/preprocess.h"

static const float MEAN[3] = {0.485f, 0.456f, 0.406f}, STD[3] = {0.229f, 0.224f, 0.225f};

/* ct_preprocess of a w x h grey image of constant value, shorter side to 64,
 * padded to a multiple of 32. */
static ct_status run(ct_arena *arena, int w, int h, uint8_t value, ct_input *in) {
    uint8_t pixels[64 * 64];
    memset(pixels, value, sizeof pixels);
    ct_image img = {w, h, 1, pixels};
    ct_error err;
    return ct_preprocess(&img, MEAN, STD, 64, 100, 32, arena, in, &err);
}

/* Every float of in's tensor: the image part not 0 (a constant 255 image),
 * the padding 0. */
static int padding_zero(const ct_input *in) {
    int ok = 1;
    for (int c = 0; c < 3; c++)
        for (int y = 0; y < in->padded_h; y++)
            for (int x = 0; x < in->padded_w; x++) {
                float v = in->tensor[((size_t)c * in->padded_h + y) * in->padded_w + x];
                ok &= y < in->h && x < in->w ? v != 0.0f : v == 0.0f;
            }
    return ok;
}

static void test_padding_zero_after_a_larger_image(void) {
    ct_arena arena;
    ct_arena_init(&arena);
    ct_input full, tall, wide;
    /* 64 x 64: no padding, every float of the arena's buffer written (not 0). */
    CHECK(run(&arena, 64, 64, 255, &full) == CT_OK && full.padded_w == 64 && full.padded_h == 64);
    ct_arena_reset(&arena);
    /* 60 wide, 64 high: resized to 68 high, 64 wide, padded to 96 x 64, in the same memory. */
    CHECK(run(&arena, 60, 64, 255, &tall) == CT_OK && tall.tensor == full.tensor);
    CHECK(tall.h == 68 && tall.w == 64 && tall.padded_h == 96 && tall.padded_w == 64);
    CHECK(padding_zero(&tall));
    ct_arena_reset(&arena);
    CHECK(run(&arena, 64, 64, 255, &full) == CT_OK);
    ct_arena_reset(&arena);
    /* 64 wide, 60 high: padding columns 68..95 of every row. */
    CHECK(run(&arena, 64, 60, 255, &wide) == CT_OK && wide.tensor == full.tensor);
    CHECK(wide.h == 64 && wide.w == 68 && wide.padded_h == 64 && wide.padded_w == 96);
    CHECK(padding_zero(&wide));
    ct_arena_free(&arena);
}

int main(void) {
    RUN(test_padding_zero_after_a_larger_image);
    return TEST_SUMMARY();
}
