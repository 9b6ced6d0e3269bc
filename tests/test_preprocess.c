/* The backbone input: its values against the definition, the same with
 * and without a thread pool, and its zero padding. A session reuses its
 * arena run after run, and nothing is cleared beforehand, so a smaller
 * image after a larger one must still see zeros around it. */
#include "test.h"

#include <string.h>

#include "net/preprocess.h"
#include "threadpool.h"

static const float MEAN[3] = {0.485f, 0.456f, 0.406f}, STD[3] = {0.229f, 0.224f, 0.225f};

/* ct_preprocess of a w x h grey image of constant value, shorter side to 64,
 * padded to a multiple of 32. */
static ct_status run(ct_arena *arena, int w, int h, uint8_t value, ct_input *in) {
    uint8_t pixels[64 * 64];
    memset(pixels, value, sizeof pixels);
    ct_image img = {w, h, 1, pixels};
    ct_error err;
    return ct_preprocess(&img, MEAN, STD, 64, 100, 32, arena, NULL, in, &err);
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

enum { IMG_W = 64, IMG_H = 96 };   /* scale 1 for min_size 64, max_size 100: 96 rows, six bands */

static void fill_pattern(uint8_t *pixels, int channels) {
    for (int y = 0; y < IMG_H; y++)
        for (int x = 0; x < IMG_W; x++)
            for (int c = 0; c < channels; c++) pixels[(y * IMG_W + x) * channels + c] = (uint8_t)(x * 7 + y * 13 + c * 5);
}

/* At scale 1 every float is (p/255 - mean)/std of its pixel in float32,
 * grey images giving the same plane thrice, with one thread or two. */
static void test_values_match_the_definition(void) {
    static uint8_t pixels[IMG_H * IMG_W * 3];
    ct_pool *pool = ct_pool_new(2);
    CHECK(pool != NULL);
    for (int channels = 1; channels <= 3; channels += 2)
        for (int threads = 1; threads <= 2; threads++) {
            fill_pattern(pixels, channels);
            ct_image img = {IMG_W, IMG_H, channels, pixels};
            ct_arena arena;
            ct_arena_init(&arena);
            ct_input in;
            ct_error err;
            CHECK(ct_preprocess(&img, MEAN, STD, 64, 100, 32, &arena, threads == 2 ? pool : NULL, &in, &err) == CT_OK);
            CHECK(in.h == IMG_H && in.w == IMG_W && in.padded_h == IMG_H && in.padded_w == IMG_W);
            int wrong = 0;
            for (int c = 0; c < 3; c++)
                for (int i = 0; i < IMG_H * IMG_W; i++) {
                    uint8_t p = pixels[i * channels + (channels == 1 ? 0 : c)];
                    wrong += in.tensor[c * IMG_H * IMG_W + i] != ((float)p / 255.0f - MEAN[c]) / STD[c];
                }
            CHECK(wrong == 0);
            ct_arena_free(&arena);
        }
    ct_pool_free(pool);
}

/* A resized image (normalize, resize, pad) is the same bits on two threads. */
static void test_resized_same_on_two_threads(void) {
    static uint8_t pixels[IMG_H * IMG_W * 3];
    fill_pattern(pixels, 3);
    ct_image img = {IMG_W, IMG_H - 10, 3, pixels};
    ct_pool *pool = ct_pool_new(2);
    ct_arena one, two;
    ct_arena_init(&one);
    ct_arena_init(&two);
    ct_input a, b;
    ct_error err;
    CHECK(pool != NULL);
    CHECK(ct_preprocess(&img, MEAN, STD, 60, 100, 32, &one, NULL, &a, &err) == CT_OK);
    CHECK(ct_preprocess(&img, MEAN, STD, 60, 100, 32, &two, pool, &b, &err) == CT_OK);
    CHECK(a.h == 80 && a.w == 60 && a.padded_h == 96 && a.padded_w == 64);
    CHECK(memcmp(a.tensor, b.tensor, sizeof(float) * 3 * 96 * 64) == 0);
    ct_arena_free(&one);
    ct_arena_free(&two);
    ct_pool_free(pool);
}

int main(void) {
    RUN(test_values_match_the_definition);
    RUN(test_resized_same_on_two_threads);
    RUN(test_padding_zero_after_a_larger_image);
    return TEST_SUMMARY();
}
