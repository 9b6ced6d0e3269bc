/* DICOM dataset parsing (see dicom_parse.h): meta header and transfer
 * syntax, element headers in the four uncompressed encodings, sequence
 * skipping, and the top-level attributes up to PixelData. */
#include "image/dicom_parse.h"

#include <stdlib.h>
#include <string.h>

#include "image/dicom.h"
#include "image/inflate.h"
#include "util/error.h"

#define MAX_DEPTH 32                 /* nested sequences skipped before giving up */
#define UNDEFINED_LENGTH 0xffffffffu
#define TAG(g, e) ((uint32_t)(g) << 16 | (uint32_t)(e))
#define TAG_ITEM         TAG(0xfffe, 0xe000)
#define TAG_ITEM_END     TAG(0xfffe, 0xe00d)
#define TAG_SEQUENCE_END TAG(0xfffe, 0xe0dd)
#define TAG_TRANSFER_SYNTAX TAG(0x0002, 0x0010)
#define TAG_PIXEL_DATA   TAG(0x7fe0, 0x0010)

typedef struct {
    int explicit_vr, big_endian;
} syntax;

typedef struct {
    const uint8_t *data;
    size_t len, pos;
} reader;

typedef struct {
    uint32_t tag;
    char vr[3];        /* "" for implicit VR and item tags */
    uint32_t len;
} element;

typedef enum { TS_IMPLICIT_LE, TS_EXPLICIT_LE, TS_EXPLICIT_BE, TS_DEFLATED, TS_COMPRESSED } ts_kind;

static const struct {
    const char *uid, *name;
    ts_kind kind;
} transfer_syntaxes[] = {
    {"1.2.840.10008.1.2", "Implicit VR Little Endian", TS_IMPLICIT_LE},
    {"1.2.840.10008.1.2.1", "Explicit VR Little Endian", TS_EXPLICIT_LE},
    {"1.2.840.10008.1.2.1.99", "Deflated Explicit VR Little Endian", TS_DEFLATED},
    {"1.2.840.10008.1.2.2", "Explicit VR Big Endian", TS_EXPLICIT_BE},
    {"1.2.840.10008.1.2.1.98", "Encapsulated Uncompressed Explicit VR Little Endian", TS_COMPRESSED},
    {"1.2.840.10008.1.2.4.50", "JPEG Baseline", TS_COMPRESSED},
    {"1.2.840.10008.1.2.4.51", "JPEG Extended", TS_COMPRESSED},
    {"1.2.840.10008.1.2.4.57", "JPEG Lossless", TS_COMPRESSED},
    {"1.2.840.10008.1.2.4.70", "JPEG Lossless SV1", TS_COMPRESSED},
    {"1.2.840.10008.1.2.4.80", "JPEG-LS Lossless", TS_COMPRESSED},
    {"1.2.840.10008.1.2.4.81", "JPEG-LS Near-Lossless", TS_COMPRESSED},
    {"1.2.840.10008.1.2.4.90", "JPEG 2000 Lossless", TS_COMPRESSED},
    {"1.2.840.10008.1.2.4.91", "JPEG 2000", TS_COMPRESSED},
    {"1.2.840.10008.1.2.4.92", "JPEG 2000 Multi-component Lossless", TS_COMPRESSED},
    {"1.2.840.10008.1.2.4.93", "JPEG 2000 Multi-component", TS_COMPRESSED},
    {"1.2.840.10008.1.2.4.201", "HTJ2K Lossless", TS_COMPRESSED},
    {"1.2.840.10008.1.2.4.202", "HTJ2K Lossless RPCL", TS_COMPRESSED},
    {"1.2.840.10008.1.2.4.203", "HTJ2K", TS_COMPRESSED},
    {"1.2.840.10008.1.2.5", "RLE Lossless", TS_COMPRESSED},
};

static const uint32_t attribute_tags[DCM_NUM_ATTRIBUTES] = {
    TAG(0x0028, 0x0002), TAG(0x0028, 0x0004), TAG(0x0028, 0x0008), TAG(0x0028, 0x0010),
    TAG(0x0028, 0x0011), TAG(0x0028, 0x0100), TAG(0x0028, 0x0101), TAG(0x0028, 0x0102),
    TAG(0x0028, 0x0103), TAG(0x0028, 0x0120), TAG(0x0028, 0x0121), TAG(0x0028, 0x1050),
    TAG(0x0028, 0x1051), TAG(0x0028, 0x1052), TAG(0x0028, 0x1053), TAG_PIXEL_DATA};

static uint16_t rd16(const uint8_t *p, int be) {
    return be ? (uint16_t)(p[0] << 8 | p[1]) : (uint16_t)(p[1] << 8 | p[0]);
}

static uint32_t rd32(const uint8_t *p, int be) {
    return be ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
              : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static int is_vr(const uint8_t *p) {
    static const char known[] = "AEASATCSDADSDTFLFDISLOLTOBODOFOLOVOWPNSHSLSQSSSTSVTMUCUIULUNURUSUTUV";
    for (size_t i = 0; i + 1 < sizeof known; i += 2)
        if (p[0] == (uint8_t)known[i] && p[1] == (uint8_t)known[i + 1]) return 1;
    return 0;
}

/* VRs whose explicit encoding has 2 reserved bytes and a 32-bit length. */
static int has_long_length(const char *vr) {
    static const char *const vrs[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"};
    for (size_t i = 0; i < sizeof vrs / sizeof vrs[0]; i++)
        if (strcmp(vr, vrs[i]) == 0) return 1;
    return 0;
}

static ct_status truncated(const reader *r, ct_error *err) {
    return ct_fail(err, CT_E_FORMAT, "truncated DICOM: element header at offset %zu runs past the end", r->pos);
}

static ct_status read_element_header(reader *r, syntax sx, element *el, ct_error *err) {
    const uint8_t *p = r->data + r->pos;
    size_t left = r->len - r->pos;
    if (left < 8) return truncated(r, err);
    el->tag = (uint32_t)rd16(p, sx.big_endian) << 16 | rd16(p + 2, sx.big_endian);
    el->vr[0] = '\0';
    if (el->tag >> 16 == 0xfffe || !sx.explicit_vr) {   /* items never carry a VR */
        el->len = rd32(p + 4, sx.big_endian);
        r->pos += 8;
        return CT_OK;
    }
    if (!is_vr(p + 4))
        return ct_fail(err, CT_E_FORMAT, "invalid VR bytes 0x%02x 0x%02x in element (%04x,%04x) at offset %zu",
                       p[4], p[5], el->tag >> 16, el->tag & 0xffff, r->pos);
    memcpy(el->vr, p + 4, 2);
    el->vr[2] = '\0';
    if (has_long_length(el->vr)) {
        if (left < 12) return truncated(r, err);
        el->len = rd32(p + 8, sx.big_endian);
        r->pos += 12;
    } else {
        el->len = rd16(p + 6, sx.big_endian);
        r->pos += 8;
    }
    return CT_OK;
}

static ct_status skip_value(reader *r, const element *el, ct_error *err) {
    if (el->len > r->len - r->pos)
        return ct_fail(err, CT_E_FORMAT, "truncated DICOM: element (%04x,%04x) declares %u bytes, %zu left",
                       el->tag >> 16, el->tag & 0xffff, el->len, r->len - r->pos);
    r->pos += el->len;
    return CT_OK;
}

static ct_status skip_undefined(reader *r, syntax sx, const element *el, int depth, ct_error *err);

/* Skips the elements of an undefined-length item through its delimiter. */
static ct_status skip_item(reader *r, syntax sx, int depth, ct_error *err) {
    for (;;) {
        element el;
        ct_status st = read_element_header(r, sx, &el, err);
        if (st != CT_OK) return st;
        if (el.tag == TAG_ITEM_END) return CT_OK;
        if (el.tag >> 16 == 0xfffe)
            return ct_fail(err, CT_E_FORMAT, "unexpected delimiter (fffe,%04x) inside an item", el.tag & 0xffff);
        st = el.len == UNDEFINED_LENGTH ? skip_undefined(r, sx, &el, depth, err) : skip_value(r, &el, err);
        if (st != CT_OK) return st;
    }
}

/* Skips the items of an undefined-length sequence through its delimiter. */
static ct_status skip_sequence(reader *r, syntax sx, int depth, ct_error *err) {
    if (depth > MAX_DEPTH)
        return ct_fail(err, CT_E_FORMAT, "sequences nested deeper than %d levels", MAX_DEPTH);
    for (;;) {
        element item;
        ct_status st = read_element_header(r, sx, &item, err);
        if (st != CT_OK) return st;
        if (item.tag == TAG_SEQUENCE_END) return CT_OK;
        if (item.tag != TAG_ITEM)
            return ct_fail(err, CT_E_FORMAT, "element (%04x,%04x) where a sequence item was expected",
                           item.tag >> 16, item.tag & 0xffff);
        st = item.len == UNDEFINED_LENGTH ? skip_item(r, sx, depth, err) : skip_value(r, &item, err);
        if (st != CT_OK) return st;
    }
}

/* An undefined length outside pixel data means a sequence: SQ, UN (whose
 * content is implicit VR little endian) or any element in implicit VR. */
static ct_status skip_undefined(reader *r, syntax sx, const element *el, int depth, ct_error *err) {
    if (sx.explicit_vr && strcmp(el->vr, "SQ") != 0 && strcmp(el->vr, "UN") != 0)
        return ct_fail(err, CT_E_FORMAT, "undefined length on element (%04x,%04x) of VR %s",
                       el->tag >> 16, el->tag & 0xffff, el->vr);
    syntax inner = sx;
    if (strcmp(el->vr, "UN") == 0) inner = (syntax){0, 0};
    return skip_sequence(r, inner, depth + 1, err);
}

static int attribute_index(uint32_t tag) {
    for (int a = 0; a < DCM_NUM_ATTRIBUTES; a++)
        if (attribute_tags[a] == tag) return a;
    return -1;
}

/* Walks the top-level elements, recording the wanted attributes, through
 * PixelData (anything after it is ignored). */
static ct_status parse_top_level(reader *r, syntax sx, ct_dcm_dataset *ds, ct_error *err) {
    while (r->pos < r->len) {
        element el;
        ct_status st = read_element_header(r, sx, &el, err);
        if (st != CT_OK) return st;
        if (el.tag >> 16 == 0xfffe)
            return ct_fail(err, CT_E_FORMAT, "item tag (fffe,%04x) outside a sequence at offset %zu",
                           el.tag & 0xffff, r->pos - 8);
        if (el.len == UNDEFINED_LENGTH) {
            if (el.tag == TAG_PIXEL_DATA)
                return ct_fail(err, CT_E_FORMAT, "encapsulated pixel data in the uncompressed transfer syntax %s",
                               ds->syntax_name);
            st = skip_undefined(r, sx, &el, 0, err);
            if (st != CT_OK) return st;
            continue;
        }
        const uint8_t *value = r->data + r->pos;
        st = skip_value(r, &el, err);
        if (st != CT_OK) return st;
        int a = attribute_index(el.tag);
        if (a >= 0 && !ds->attr[a].present) ds->attr[a] = (ct_dcm_value){value, el.len, 1};
        if (el.tag == TAG_PIXEL_DATA) return CT_OK;
    }
    return CT_OK;
}

/* Copies a string value without its trailing NUL/space padding. */
static void copy_trimmed(char *dst, size_t cap, const uint8_t *src, size_t len) {
    while (len && (src[len - 1] == '\0' || src[len - 1] == ' ')) len--;
    if (len >= cap) len = cap - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

/* Reads the group 0002 meta elements (always explicit VR little endian). */
static ct_status parse_meta(reader *r, ct_dcm_dataset *ds, ct_error *err) {
    const syntax meta = {1, 0};
    while (r->len - r->pos >= 8 && rd16(r->data + r->pos, 0) == 0x0002) {
        element el;
        ct_status st = read_element_header(r, meta, &el, err);
        if (st != CT_OK) return st;
        if (el.len == UNDEFINED_LENGTH)
            return ct_fail(err, CT_E_FORMAT, "undefined length in the meta header element (0002,%04x)",
                           el.tag & 0xffff);
        const uint8_t *value = r->data + r->pos;
        st = skip_value(r, &el, err);
        if (st != CT_OK) return st;
        if (el.tag == TAG_TRANSFER_SYNTAX)
            copy_trimmed(ds->transfer_syntax, sizeof ds->transfer_syntax, value, el.len);
    }
    if (!ds->transfer_syntax[0])
        return ct_fail(err, CT_E_FORMAT, "DICOM meta header has no TransferSyntaxUID (0002,0010)");
    return CT_OK;
}

/* Finds the transfer syntax of ds->transfer_syntax. */
static ct_status lookup_syntax(ct_dcm_dataset *ds, ts_kind *kind, ct_error *err) {
    for (size_t i = 0; i < sizeof transfer_syntaxes / sizeof transfer_syntaxes[0]; i++)
        if (strcmp(ds->transfer_syntax, transfer_syntaxes[i].uid) == 0) {
            ds->syntax_name = transfer_syntaxes[i].name;
            *kind = transfer_syntaxes[i].kind;
            if (*kind == TS_COMPRESSED)
                return ct_fail(err, CT_E_UNSUPPORTED, "compressed DICOM transfer syntax %s (%s) is not supported",
                               ds->transfer_syntax, ds->syntax_name);
            return CT_OK;
        }
    if (strncmp(ds->transfer_syntax, "1.2.840.10008.1.2.4.", 20) == 0)
        return ct_fail(err, CT_E_UNSUPPORTED, "compressed DICOM transfer syntax %s (JPEG family) is not supported",
                       ds->transfer_syntax);
    return ct_fail(err, CT_E_UNSUPPORTED, "unknown DICOM transfer syntax %s", ds->transfer_syntax);
}

/* A dataset with no meta header: explicit VR if the first element carries a
 * valid VR, else implicit (both little endian). */
static syntax guess_raw_syntax(const uint8_t *data, size_t len) {
    return (syntax){len >= 8 && is_vr(data + 4), 0};
}

static int plausible_dataset_start(const uint8_t *data, size_t len) {
    if (len < 8) return 0;
    uint16_t group = rd16(data, 0);
    if (group != 0x0002 && group != 0x0008) return 0;
    return is_vr(data + 4) || rd32(data + 4, 0) <= len - 8;
}

int ct_dicom_probe(const uint8_t *data, size_t len) {
    if (len >= 132 && memcmp(data + 128, "DICM", 4) == 0) return 1;
    return plausible_dataset_start(data, len);
}

/* Parses the dataset after the meta header according to its syntax. */
static ct_status parse_body(reader *r, ts_kind kind, const ct_image_limits *lim, ct_dcm_dataset *ds,
                            ct_error *err) {
    syntax sx = {kind != TS_IMPLICIT_LE, kind == TS_EXPLICIT_BE};
    ds->big_endian = sx.big_endian;
    if (kind != TS_DEFLATED) return parse_top_level(r, sx, ds, err);
    size_t n = 0;
    uint64_t max = lim ? lim->max_bytes : CT_IMAGE_DEFAULT_MAX_BYTES;
    ct_status st = ct_inflate_raw_alloc(r->data + r->pos, r->len - r->pos, max > SIZE_MAX ? SIZE_MAX : (size_t)max,
                                        &ds->inflated, &n, NULL, err);
    if (st != CT_OK) {
        ct_error_prefix(err, "deflated DICOM dataset");
        return st;
    }
    reader inner = {ds->inflated, n, 0};
    return parse_top_level(&inner, sx, ds, err);
}

ct_status ct_dcm_parse(const uint8_t *data, size_t len, const ct_image_limits *lim, ct_dcm_dataset *ds,
                       ct_error *err) {
    memset(ds, 0, sizeof *ds);
    reader r = {data, len, 0};
    int preamble = len >= 132 && memcmp(data + 128, "DICM", 4) == 0;
    if (!preamble && !plausible_dataset_start(data, len))
        return ct_fail(err, CT_E_FORMAT, "not a DICOM file (no DICM marker and no recognizable dataset)");
    if (preamble) r.pos = 132;
    ts_kind kind = TS_IMPLICIT_LE;
    if (preamble || rd16(data, 0) == 0x0002) {
        ct_status st = parse_meta(&r, ds, err);
        if (st == CT_OK) st = lookup_syntax(ds, &kind, err);
        if (st != CT_OK) return st;
    } else {
        syntax sx = guess_raw_syntax(data, len);
        kind = sx.explicit_vr ? TS_EXPLICIT_LE : TS_IMPLICIT_LE;
        ds->syntax_name = sx.explicit_vr ? "Explicit VR Little Endian (no meta header)"
                                         : "Implicit VR Little Endian (no meta header)";
    }
    return parse_body(&r, kind, lim, ds, err);
}

void ct_dcm_dataset_free(ct_dcm_dataset *ds) {
    free(ds->inflated);
    memset(ds, 0, sizeof *ds);
}
