/* Parsing and validation of ctinfer's arguments: every value is checked for
 * type and range here, so the run itself sees only sane options. */
#include "cli/args.h"

#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const CLI_USAGE =
    "usage: ctinfer MODEL.bin IMAGE [options]\n"
    "       ctinfer MODEL.bin IMAGE_OR_DIR... --jsonl OUT.jsonl [--out-dir DIR] [--resume] [options]\n"
    "       ctinfer --info MODEL.bin\n"
    "       ctinfer decode IMAGE OUT.npy\n";

const char *const CLI_HELP_TEXT =
    "Runs a lesion-segmentation Mask R-CNN or the COVID-CT-Mask-Net classifier\n"
    "(converted with ctconvert) on CT slices (PNG or DICOM).\n"
    "\n"
    "Output (one slice):\n"
    "  --json                  one JSON object on stdout instead of the summary\n"
    "  --overlay FILE.png      the slice with the masks, boxes and scores drawn on it\n"
    "                          (classifiers: the best regions and a probability chart)\n"
    "  --mask FILE.png         union of the detections' masks (logit > mask threshold)\n"
    "  --scoremap FILE.png     max over detections of sigmoid(mask logit), viridis on black\n"
    "  --masks FILE.npy        pasted mask logits, float32 [D,H,W] (segmentation)\n"
    "  --dump-input FILE.npy   the normalized, resized, padded tensor the backbone sees\n"
    "Batch (many slices, the model loaded once):\n"
    "  --jsonl OUT.jsonl       one JSON line per input (directories: their PNG and DICOM\n"
    "                          files, sorted); keeps going past a bad file\n"
    "  --resume                skip inputs OUT.jsonl already has without an error\n"
    "  --out-dir DIR           write each input's pictures to DIR/<stem>.<kind>.<ext>\n"
    "  --outputs LIST          which: overlay,mask,scoremap,masks,input (default\n"
    "                          overlay,mask; classifiers: overlay)\n"
    "Settings (defaults come from the model file):\n"
    "  --score-thresh X        keep detections with score > X\n"
    "  --nms-thresh X          box NMS IoU threshold, in [0,1]\n"
    "  --detections N          at most N detections (classifiers: must equal the RoI batch)\n"
    "  --mask-thresh X         mask logit threshold for --mask and --overlay\n"
    "  --rpn-nms-thresh X      RPN NMS IoU threshold, in [0,1]\n"
    "  --rpn-pre-nms-top-n N   RPN proposals per level before NMS\n"
    "  --rpn-post-nms-top-n N  RPN proposals after NMS\n"
    "  --min-size N --max-size N  resize targets (512 / 1024)\n"
    "  --seed N                classifier replication seed (default 0; deterministic)\n"
    "  --threads N             worker threads (0 = one per core)\n"
    "Images:\n"
    "  --window W,L            CT window for DICOM and 16-bit PNG (default 1500,-600)\n"
    "  --hu-offset N           16-bit PNG: stored value minus N is HU (default 1024)\n"
    "Other:\n"
    "  --info                  describe the model file and exit\n"
    "  --help, --version\n"
    "Exit status: 0 success, 1 failure (batch: any input failed), 2 usage error,\n"
    "130 interrupted.\n";

typedef struct {
    const char *name;
    size_t offset;     /* of the cli_number in cli_args */
    double lo, hi;
    int integer;
} number_option;


static const number_option NUMBER_OPTIONS[] = {
    {"--score-thresh", offsetof(cli_args, score_thresh), -1e30, 1e30, 0},
    {"--nms-thresh", offsetof(cli_args, nms_thresh), 0, 1, 0},
    {"--detections", offsetof(cli_args, detections), 1, 100000, 1},
    {"--mask-thresh", offsetof(cli_args, mask_thresh), -1e30, 1e30, 0},
    {"--rpn-nms-thresh", offsetof(cli_args, rpn_nms_thresh), 0, 1, 0},
    {"--rpn-pre-nms-top-n", offsetof(cli_args, rpn_pre_nms_top_n), 1, 1000000, 1},
    {"--rpn-post-nms-top-n", offsetof(cli_args, rpn_post_nms_top_n), 1, 1000000, 1},
    {"--threads", offsetof(cli_args, threads), 0, 1024, 1},
    {"--seed", offsetof(cli_args, seed), 0, 4294967295.0, 1},
    {"--min-size", offsetof(cli_args, min_size), 1, 8192, 1},
    {"--max-size", offsetof(cli_args, max_size), 1, 8192, 1},
    {"--hu-offset", offsetof(cli_args, hu_offset), -1e9, 1e9, 0},
};

static int parse_double(const char *s, double *v) {
    char *end;
    errno = 0;
    *v = strtod(s, &end);
    return end != s && *end == '\0' && errno == 0 && isfinite(*v);
}

static int parse_number(const number_option *o, const char *text, cli_args *args, char *msg,
                        size_t msg_len) {
    double v;
    if (!parse_double(text, &v) || v < o->lo || v > o->hi || (o->integer && v != floor(v))) {
        snprintf(msg, msg_len, "%s needs %s in [%g, %g], not '%s'", o->name,
                 o->integer ? "an integer" : "a number", o->lo, o->hi, text);
        return 1;
    }
    cli_number *n = (cli_number *)((char *)args + o->offset);
    n->set = 1;
    n->value = v;
    return 0;
}

static int parse_window(const char *text, cli_args *args, char *msg, size_t msg_len) {
    char buf[64];
    const char *comma = strchr(text, ',');
    if (!comma || (size_t)(comma - text) >= sizeof buf) goto bad;
    memcpy(buf, text, (size_t)(comma - text));
    buf[comma - text] = '\0';
    if (!parse_double(buf, &args->window_width) || !parse_double(comma + 1, &args->window_level) ||
        args->window_width <= 0)
        goto bad;
    args->window_set = 1;
    return 0;
bad:
    snprintf(msg, msg_len, "--window needs WIDTH,LEVEL with WIDTH > 0, not '%s'", text);
    return 1;
}

/* Options that take a file name. */
static const char **path_option(cli_args *args, const char *name) {
    if (!strcmp(name, "--masks")) return &args->masks_npy;
    if (!strcmp(name, "--mask")) return &args->mask_png;
    if (!strcmp(name, "--overlay")) return &args->overlay_png;
    if (!strcmp(name, "--scoremap")) return &args->scoremap_png;
    if (!strcmp(name, "--dump-input")) return &args->dump_input;
    if (!strcmp(name, "--jsonl")) return &args->jsonl;
    if (!strcmp(name, "--out-dir")) return &args->out_dir;
    return NULL;
}

static const struct {
    const char *name;
    unsigned bit;
} OUTPUT_KINDS[] = {
    {"overlay", CLI_OUT_OVERLAY}, {"mask", CLI_OUT_MASK},   {"scoremap", CLI_OUT_SCOREMAP},
    {"masks", CLI_OUT_MASKS},     {"input", CLI_OUT_INPUT},
};

/* --outputs LIST: comma-separated names of OUTPUT_KINDS. */
static int parse_outputs(const char *text, cli_args *args, char *msg, size_t msg_len) {
    const char *p = text;
    args->outputs = 0;
    for (;;) {
        size_t n = strcspn(p, ",");
        unsigned bit = 0;
        for (size_t k = 0; k < sizeof OUTPUT_KINDS / sizeof *OUTPUT_KINDS; k++)
            if (strlen(OUTPUT_KINDS[k].name) == n && !strncmp(p, OUTPUT_KINDS[k].name, n)) bit = OUTPUT_KINDS[k].bit;
        if (!bit) {
            snprintf(msg, msg_len, "--outputs takes a list of overlay,mask,scoremap,masks,input, not '%s'", text);
            return 1;
        }
        args->outputs |= bit;
        if (!p[n]) return 0;
        p += n + 1;
    }
}

static const number_option *number_option_named(const char *name) {
    for (size_t k = 0; k < sizeof NUMBER_OPTIONS / sizeof *NUMBER_OPTIONS; k++)
        if (!strcmp(name, NUMBER_OPTIONS[k].name)) return &NUMBER_OPTIONS[k];
    return NULL;
}

/* An option with a value: argv[*i] is its name, argv[*i + 1] the value. */
static int parse_valued(int argc, char **argv, int *i, cli_args *args, char *msg, size_t msg_len) {
    const char *name = argv[*i];
    const char **path = path_option(args, name);
    const number_option *num = number_option_named(name);
    int window = !strcmp(name, "--window"), outputs = !strcmp(name, "--outputs");
    if (!path && !num && !window && !outputs) {
        snprintf(msg, msg_len, "unknown option '%s'", name);
        return 1;
    }
    if (*i + 1 >= argc) {
        snprintf(msg, msg_len, "%s needs a value", name);
        return 1;
    }
    const char *value = argv[++*i];
    if (path) {
        if (!*value) {
            snprintf(msg, msg_len, "%s needs a file name, not an empty string", name);
            return 1;
        }
        *path = value;
        return 0;
    }
    if (num) return parse_number(num, value, args, msg, msg_len);
    if (window) return parse_window(value, args, msg, msg_len);
    return parse_outputs(value, args, msg, msg_len);
}

static int usage_error(char *msg, size_t msg_len, const char *text) {
    snprintf(msg, msg_len, "%s", text);
    return 1;
}

/* The single-slice file options, which a batch replaces with --out-dir. */
static const char *single_file_option(const cli_args *a) {
    if (a->overlay_png) return "--overlay";
    if (a->mask_png) return "--mask";
    if (a->scoremap_png) return "--scoremap";
    if (a->masks_npy) return "--masks";
    if (a->dump_input) return "--dump-input";
    return NULL;
}

/* Running a model: one slice, or a batch with --jsonl. */
static int choose_run_mode(cli_args *a, char *msg, size_t msg_len) {
    if (a->num_inputs < 2)
        return usage_error(msg, msg_len, a->num_inputs == 0 ? "missing MODEL.bin and IMAGE" : "missing IMAGE");
    a->model_path = a->positional[0];
    a->inputs = a->positional + 1;
    a->num_inputs--;
    const char *single = single_file_option(a);
    if (a->outputs && !a->out_dir) return usage_error(msg, msg_len, "--outputs needs --out-dir DIR");
    if (a->out_dir && single) {
        snprintf(msg, msg_len, "%s and --out-dir exclude each other (choose files with --outputs)", single);
        return 1;
    }
    if (a->jsonl) {
        if (a->json) return usage_error(msg, msg_len, "--json and --jsonl exclude each other");
        if (single) {
            snprintf(msg, msg_len, "%s names one file; a batch writes per-input files with --out-dir DIR", single);
            return 1;
        }
        a->command = CLI_BATCH;
        return 0;
    }
    if (a->resume) return usage_error(msg, msg_len, "--resume needs --jsonl OUT.jsonl");
    if (a->num_inputs > 1) return usage_error(msg, msg_len, "several inputs need --jsonl OUT.jsonl");
    a->command = CLI_RUN;
    return 0;
}

int cli_parse(int argc, char **argv, cli_args *args, char *msg, size_t msg_len) {
    memset(args, 0, sizeof *args);
    const char **positional = malloc((size_t)(argc > 0 ? argc : 1) * sizeof *positional);
    if (!positional) return usage_error(msg, msg_len, "out of memory");
    args->positional = args->inputs = positional;
    int info = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            args->command = CLI_HELP;
            return 0;
        }
        if (!strcmp(a, "--version")) {
            args->command = CLI_VERSION;
            return 0;
        }
        if (!strcmp(a, "--json")) args->json = 1;
        else if (!strcmp(a, "--info")) info = 1;
        else if (!strcmp(a, "--resume")) args->resume = 1;
        else if (a[0] == '-' && a[1] != '\0') {
            if (parse_valued(argc, argv, &i, args, msg, msg_len)) return 1;
        } else positional[args->num_inputs++] = a;
    }
    if (info) {
        if (args->num_inputs != 1) return usage_error(msg, msg_len, "--info takes exactly one MODEL.bin");
        args->command = CLI_INFO;
        args->model_path = positional[0];
        return 0;
    }
    if (args->num_inputs >= 1 && !strcmp(positional[0], "decode")) {
        if (args->num_inputs != 3) return usage_error(msg, msg_len, "decode takes IMAGE OUT.npy");
        args->command = CLI_DECODE;
        args->inputs = positional + 1;
        args->num_inputs = 1;
        args->decode_out = positional[2];
        return 0;
    }
    return choose_run_mode(args, msg, msg_len);
}

void cli_args_free(cli_args *args) {
    free(args->positional);
    args->positional = args->inputs = NULL;
}

void cli_apply_options(const cli_args *a, ct_options *o) {
    if (a->score_thresh.set) o->score_thresh = a->score_thresh.value;
    if (a->nms_thresh.set) o->nms_thresh = a->nms_thresh.value;
    if (a->detections.set) o->detections = (int)a->detections.value;
    if (a->mask_thresh.set) o->mask_thresh = a->mask_thresh.value;
    if (a->rpn_nms_thresh.set) o->rpn_nms_thresh = a->rpn_nms_thresh.value;
    if (a->rpn_pre_nms_top_n.set) o->rpn_pre_nms_top_n = (int)a->rpn_pre_nms_top_n.value;
    if (a->rpn_post_nms_top_n.set) o->rpn_post_nms_top_n = (int)a->rpn_post_nms_top_n.value;
    if (a->threads.set) o->threads = (int)a->threads.value;
    if (a->seed.set) o->seed = (uint32_t)a->seed.value;
    if (a->min_size.set) o->min_size = (int)a->min_size.value;
    if (a->max_size.set) o->max_size = (int)a->max_size.value;
}
