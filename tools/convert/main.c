/* ctconvert: PyTorch checkpoint (.pth, zip or legacy format) -> ctinfer model
 * file. Command-line parsing, --info and --verify; the work is in the other
 * files of tools/convert. Exit status: 0 ok, 1 failure, 2 usage error. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "checkpoint.h"
#include "ctinfer.h"
#include "infer.h"
#include "model/finite.h"
#include "model/modelfile.h"
#include "model/summary.h"
#include "writer.h"

#define EXIT_USAGE 2

static const char USAGE[] =
    "usage: ctconvert [options] CHECKPOINT.pth MODEL.bin\n"
    "       ctconvert --info CHECKPOINT.pth|MODEL.bin\n"
    "       ctconvert --verify MODEL.bin\n";

static const char HELP[] =
    "Converts a checkpoint of the lightweight Mask R-CNN / COVID-CT-Mask-Net models\n"
    "(torch.save output, zip or legacy format) into a ctinfer model file. The\n"
    "architecture is inferred from the tensors; thresholds default to the authors'\n"
    "test-time settings. The pickle inside the checkpoint is interpreted, never\n"
    "executed: unlike torch.load, this is safe on untrusted files.\n"
    "\n"
    "  --info FILE              print what FILE holds (keys, architecture, parameter\n"
    "                           count, anchors); writes nothing\n"
    "  --verify MODEL.bin       validate a model file (checksums, tensors, config,\n"
    "                           finite weights)\n"
    "  --half                   store convolution and linear weights as float16\n"
    "                           (half the file; rounded to nearest, relative error\n"
    "                           <= 2^-11; biases and BatchNorm stay float32)\n"
    "  --task T                 segmentation | classification (default: inferred)\n"
    "  --score-thresh X         keep detections with score > X (0.05 / -0.01)\n"
    "  --nms-thresh X           box NMS IoU threshold (0.5 / 0.75)\n"
    "  --detections N           detections per image (100 / the RoI batch size)\n"
    "  --rpn-nms-thresh X       RPN NMS IoU threshold (0.75)\n"
    "  --rpn-pre-nms-top-n N    proposals per level before RPN NMS (1000)\n"
    "  --rpn-post-nms-top-n N   proposals after RPN NMS (1000)\n"
    "  --mask-thresh X          mask logit threshold (0.5)\n"
    "  --min-size N, --max-size N   resize targets (512, 1024)\n"
    "  --class-names a,b,...    box class names, background first\n"
    "  --anchor-sizes a,b,...   anchor sizes (default: from the checkpoint)\n"
    "  --aspect-ratios a,b,...  anchor aspect ratios h/w (default: from the checkpoint)\n"
    "  --help, --version\n";

typedef struct {
    const char *input, *output;
    int info, verify;
    ct_weight_dtype weights;   /* CTM_DTYPE_F32, or CTM_DTYPE_F16 with --half */
    ct_convert_options opt;
} cli;

static int usage_error(const char *fmt, const char *arg) {
    fprintf(stderr, "ctconvert: ");
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n%s", USAGE);
    return EXIT_USAGE;
}

/* ---- option values ------------------------------------------------------ */

static int parse_double(const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v)) return 0;
    *out = v;
    return 1;
}

static int parse_count(const char *s, uint32_t *out) {
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (end == s || *end || errno || *s == '-' || v == 0 || v > 1000000) return 0;
    *out = (uint32_t)v;
    return 1;
}

static int parse_floats(const char *s, float *out, uint32_t *n) {
    char buf[512];
    if (strlen(s) >= sizeof buf) return 0;
    strcpy(buf, s);
    *n = 0;
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        double v;
        if (*n == CTM_MAX_ANCHORS || !parse_double(tok, &v) || !(v > 0) || v > 1e6) return 0;
        out[(*n)++] = (float)v;
    }
    return *n > 0;
}

static int parse_names(const char *s, ct_convert_options *opt) {
    opt->num_class_names = 0;
    const char *p = s;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == 0 || len >= CTM_CLASS_NAME_LEN || opt->num_class_names == CTM_MAX_CLASSES) return 0;
        memcpy(opt->class_names[opt->num_class_names++], p, len);
        if (!comma) return 1;
        p = comma + 1;
    }
}

static int parse_task(const char *s, int *task) {
    if (strcmp(s, "segmentation") == 0) *task = CTM_TASK_SEGMENTATION;
    else if (strcmp(s, "classification") == 0 || strcmp(s, "classifier") == 0) *task = CTM_TASK_CLASSIFICATION;
    else return 0;
    return 1;
}

/* Applies option `name` with `value`; 0 when the name is unknown or the value bad. */
static int set_option(cli *c, const char *name, const char *value) {
    ct_convert_options *o = &c->opt;
    if (!strcmp(name, "task")) return parse_task(value, &o->task);
    if (!strcmp(name, "score-thresh")) return parse_double(value, &o->score_thresh);
    if (!strcmp(name, "nms-thresh")) return parse_double(value, &o->nms_thresh);
    if (!strcmp(name, "rpn-nms-thresh")) return parse_double(value, &o->rpn_nms_thresh);
    if (!strcmp(name, "mask-thresh")) return parse_double(value, &o->mask_thresh);
    if (!strcmp(name, "detections")) return parse_count(value, &o->detections);
    if (!strcmp(name, "rpn-pre-nms-top-n")) return parse_count(value, &o->rpn_pre_nms_top_n);
    if (!strcmp(name, "rpn-post-nms-top-n")) return parse_count(value, &o->rpn_post_nms_top_n);
    if (!strcmp(name, "min-size")) return parse_count(value, &o->min_size);
    if (!strcmp(name, "max-size")) return parse_count(value, &o->max_size);
    if (!strcmp(name, "class-names")) return parse_names(value, o);
    if (!strcmp(name, "anchor-sizes")) return parse_floats(value, o->anchor_sizes, &o->num_anchor_sizes);
    if (!strcmp(name, "aspect-ratios")) return parse_floats(value, o->aspect_ratios, &o->num_aspect_ratios);
    return 0;
}

static const char *const VALUE_OPTIONS[] = {
    "task", "score-thresh", "nms-thresh", "rpn-nms-thresh", "mask-thresh", "detections",
    "rpn-pre-nms-top-n", "rpn-post-nms-top-n", "min-size", "max-size", "class-names",
    "anchor-sizes", "aspect-ratios"};

static int takes_value(const char *name) {
    for (size_t i = 0; i < sizeof VALUE_OPTIONS / sizeof VALUE_OPTIONS[0]; i++)
        if (!strcmp(name, VALUE_OPTIONS[i])) return 1;
    return 0;
}

/* Returns -1 to go on, else the exit status (help, version, usage error). */
static int parse_args(cli *c, int argc, char **argv) {
    int positional = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            if (positional == 2) return usage_error("unexpected argument %s", a);
            *(positional++ ? &c->output : &c->input) = a;
            continue;
        }
        char name[32];
        const char *eq = strchr(a + 2, '='), *value = eq ? eq + 1 : NULL;
        size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
        if (len >= sizeof name) return usage_error("unknown option %s", a);
        memcpy(name, a + 2, len);
        name[len] = '\0';
        if (!strcmp(name, "help") && !value) { printf("%s\n%s", USAGE, HELP); return 0; }
        if (!strcmp(name, "version") && !value) { printf("ctconvert %s\n", CTINFER_VERSION); return 0; }
        if (!strcmp(name, "info") && !value) { c->info = 1; continue; }
        if (!strcmp(name, "verify") && !value) { c->verify = 1; continue; }
        if (!strcmp(name, "half") && !value) { c->weights = CTM_DTYPE_F16; continue; }
        if (!takes_value(name)) return usage_error("unknown option %s", a);
        if (!value && (value = (i + 1 < argc ? argv[++i] : NULL)) == NULL)
            return usage_error("option %s needs a value", a);
        if (!set_option(c, name, value)) return usage_error("bad value for --%s", name);
    }
    int want = (c->info || c->verify) ? 1 : 2;
    if (c->info && c->verify) return usage_error("%s", "--info and --verify exclude each other");
    if (positional != want) return usage_error("%s", want == 1 ? "expected one file" : "expected CHECKPOINT.pth and MODEL.bin");
    return -1;
}

/* ---- commands ----------------------------------------------------------- */

static int fail(const ct_error *err) {
    fprintf(stderr, "ctconvert: %s\n", err->message);
    return EXIT_FAILURE;
}

static int is_model_file(const char *path) {
    FILE *f = fopen(path, "rb");
    char magic[8] = {0};
    if (!f) return 0;
    size_t n = fread(magic, 1, sizeof magic, f);
    fclose(f);
    return n == sizeof magic && memcmp(magic, CTM_MAGIC, sizeof magic) == 0;
}

static int model_file_info(const char *path, int verify_only) {
    ct_error err;
    ct_modelfile *mf;
    if (ct_modelfile_open(path, &mf, &err) != CT_OK) return fail(&err);
    size_t n = ct_modelfile_count(mf);
    if (verify_only && ct_modelfile_check_finite(mf, &err) != CT_OK) {
        ct_modelfile_close(mf);
        ct_error_prefix(&err, path);
        return fail(&err);
    }
    if (verify_only) {
        printf("%s: ok (%zu tensors, %zu parameters)\n", path, n, ct_modelfile_parameter_count(mf));
    } else {
        printf("file            %s: ctinfer model file, version %u, checksums and tensors verified\n",
               path, CTM_VERSION);
        ct_summary_print(stdout, ct_modelfile_config(mf), ct_modelfile_entry(mf, 0), n);
    }
    ct_modelfile_close(mf);
    return EXIT_SUCCESS;
}

static void print_entries(const ct_checkpoint *ck) {
    const ct_pyobj *root = ck->archive.root;
    if (!ck->weights_key) return;
    char what[160];
    for (size_t i = 0; i + 1 < root->u.seq.len; i += 2) {
        const ct_pyobj *k = root->u.seq.items[i], *v = root->u.seq.items[i + 1];
        ct_py_describe(k, what, sizeof what);
        printf("%s%s = ", i ? "                " : "checkpoint      ", what);
        ct_py_describe(v, what, sizeof what);
        int weights = ct_py_is_str(k, ck->weights_key);
        printf("%s%s\n", what, weights ? "  (the state_dict)" :
               ct_py_is_str(k, "anchor_generator") ? "  (anchors read from it)" : "  (not needed)");
    }
}

static void print_tensors(const ct_checkpoint *ck) {
    printf("state_dict      %zu floating-point tensors", ck->num_tensors);
    if (ck->num_counters) printf("; %zu num_batches_tracked counters left out", ck->num_counters);
    printf("\n");
    for (size_t i = 0; i < ck->num_tensors; i++) {
        const ct_ckpt_tensor *t = &ck->tensors[i];
        printf("    %s  %s [", t->name, ct_py_dtype_name(t->view.dtype));
        for (uint32_t d = 0; d < t->view.rank; d++) printf("%s%u", d ? ", " : "", t->view.dims[d]);
        printf("]%s\n", t->renamed ? "  (renamed from torchvision >= 0.13 naming)" : "");
    }
}

static void print_notes(const ct_convert_notes *notes, FILE *out, const char *prefix) {
    for (int i = 0; i < notes->count; i++) fprintf(out, "%snote: %s\n", prefix, notes->text[i]);
}

static int checkpoint_info(const cli *c) {
    ct_error err;
    ct_checkpoint ck;
    if (ct_checkpoint_open_file(&ck, c->input, &err) != CT_OK) return fail(&err);
    printf("file            %s: %s, %s\n", c->input, ct_archive_format(&ck.archive), ck.layout);
    print_entries(&ck);
    print_tensors(&ck);
    ctm_config cfg;
    ct_convert_notes notes;
    ctm_tensor_entry *entries = NULL;
    size_t *source = NULL, n = 0;
    ct_status st = ct_infer_config(&ck, &c->opt, &cfg, &notes, &err);
    if (st == CT_OK) st = ct_writer_entries(&ck, &cfg, c->weights, &entries, &source, &n, &err);
    if (st == CT_OK) {
        print_notes(&notes, stdout, "");
        ct_summary_print(stdout, &cfg, entries, n);
        printf("check           all %zu tensors fit the architecture\n", n);
    } else {
        ct_error_prefix(&err, c->input);
    }
    free(entries);
    free(source);
    ct_checkpoint_close(&ck);
    return st == CT_OK ? EXIT_SUCCESS : fail(&err);
}

static int convert(const cli *c) {
    ct_error err;
    ct_checkpoint ck;
    if (ct_checkpoint_open_file(&ck, c->input, &err) != CT_OK) return fail(&err);
    ctm_config cfg;
    ct_convert_notes notes;
    ct_status st = ct_infer_config(&ck, &c->opt, &cfg, &notes, &err);
    if (st == CT_OK) {
        print_notes(&notes, stderr, "ctconvert: ");
        st = ct_writer_write(&ck, &cfg, c->weights, c->output, &err);
    }
    if (st != CT_OK && st != CT_E_IO) ct_error_prefix(&err, c->input);
    size_t tensors = ck.num_tensors;
    ct_checkpoint_close(&ck);
    if (st != CT_OK) return fail(&err);
    printf("ctconvert: wrote %s (%zu tensors)\n", c->output, tensors);
    return EXIT_SUCCESS;
}

int main(int argc, char **argv) {
    cli c = {0};
    c.weights = CTM_DTYPE_F32;
    ct_convert_options_init(&c.opt);
    int status = parse_args(&c, argc, argv);
    if (status >= 0) return status;
    if (c.verify) return model_file_info(c.input, 1);
    if (c.info) return is_model_file(c.input) ? model_file_info(c.input, 0) : checkpoint_info(&c);
    return convert(&c);
}
