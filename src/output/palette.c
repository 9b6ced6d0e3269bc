/* The Okabe-Ito palette and the viridis colour map (see palette.h). */
#include "output/palette.h"

static const ct_rgb OKABE_ITO[CT_PALETTE_SIZE] = {
    {230, 159, 0}, {86, 180, 233}, {0, 158, 115}, {240, 228, 66},
    {0, 114, 178}, {213, 94, 0},   {204, 121, 167},
};

/* viridis(k/32), k = 0..32, rounded to 8 bits. */
#define VIRIDIS_STEPS 32
static const ct_rgb VIRIDIS[VIRIDIS_STEPS + 1] = {
    {68, 1, 84},    {71, 13, 96},   {72, 24, 106},  {72, 35, 116},  {71, 45, 123},
    {69, 55, 129},  {66, 64, 134},  {62, 73, 137},  {59, 82, 139},  {55, 91, 141},
    {51, 99, 141},  {47, 107, 142}, {44, 114, 142}, {41, 122, 142}, {38, 130, 142},
    {35, 137, 142}, {33, 145, 140}, {31, 151, 139}, {31, 159, 136}, {33, 166, 133},
    {39, 173, 129}, {49, 181, 123}, {61, 188, 116}, {76, 194, 108}, {92, 200, 99},
    {110, 206, 88}, {129, 211, 77}, {149, 216, 64}, {170, 220, 50}, {192, 223, 37},
    {213, 226, 26}, {234, 229, 26}, {253, 231, 37},
};

ct_rgb ct_palette(int i) { return OKABE_ITO[i % CT_PALETTE_SIZE]; }

ct_rgb ct_text_color_on(ct_rgb bg) {
    int luma = (2126 * bg.r + 7152 * bg.g + 722 * bg.b) / 10000;
    return luma >= 128 ? (ct_rgb){0, 0, 0} : (ct_rgb){255, 255, 255};
}

static uint8_t mix(uint8_t a, uint8_t b, float f) { return (uint8_t)(a + (b - a) * f + 0.5f); }

ct_rgb ct_viridis(float t) {
    if (!(t > 0.0f)) return VIRIDIS[0];
    if (t >= 1.0f) return VIRIDIS[VIRIDIS_STEPS];
    float pos = t * VIRIDIS_STEPS;
    int k = (int)pos;
    float f = pos - (float)k;
    ct_rgb a = VIRIDIS[k], b = VIRIDIS[k + 1];
    return (ct_rgb){mix(a.r, b.r, f), mix(a.g, b.g, f), mix(a.b, b.b, f)};
}
