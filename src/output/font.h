/* A built-in 5x7 bitmap font for the labels of the output pictures: digits,
 * capitals (lower case is drawn as capitals), space and . , : - + % ( ) / _ =
 * ?; any other character is drawn as '?'. */
#ifndef CT_OUTPUT_FONT_H
#define CT_OUTPUT_FONT_H

#include "output/canvas.h"

#define CT_FONT_WIDTH   5    /* glyph pixels, before scaling */
#define CT_FONT_HEIGHT  7
#define CT_FONT_ADVANCE 6    /* glyph plus one column of spacing */

/* Width in pixels of text drawn at `scale` (no spacing after the last glyph). */
int ct_text_width(const char *text, int scale);

/* Draws text with its top-left corner at (x, y), each font pixel a
 * scale x scale square; only the glyphs' pixels are set (clipped). */
void ct_draw_text(ct_canvas *c, int x, int y, const char *text, int scale, ct_rgb color);

#endif
