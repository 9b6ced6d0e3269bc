/* tools/bench: how fast ctinfer runs a model on one slice, stage by stage,
 * against this machine's measured FP32 peak and, with --torch, against
 * PyTorch on the same checkpoint and image, alternating the two (A B A B …)
 * so that machine noise hits both alike. --scaling alternates the same way
 * with a one-thread session of the same model, for the thread scaling. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench_kernels.h"
#include "bench_peak.h"
#include "bench_stats.h"
#include "bench_torch.h"
#include "ctinfer.h"
#include "image/slice.h"


typedef struct {
    const char *model_path, *image_path, *torch_checkpoint, *torch_python;
    int threads, runs, warmup, json, kernels, torch_tuned, scaling;
} bench_args;

static const char *USAGE =
    "usage: tools/bench MODEL.bin IMAGE [--threads N] [--runs R] [--warmup W] [--json] [--scaling]\n"
    "                   [--torch CHECKPOINT.pth [--torch-tuned] [--python /usr/bin/python3]]\n"
    "       tools/bench --kernels [--threads N] [--runs R]\n";

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int parse_args(int argc, char **argv, bench_args *a) {
    *a = (bench_args){.threads = 0, .runs = 7, .warmup = 1, .torch_python = "/usr/bin/python3"};
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        const char *s = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(s, "--json")) a->json = 1;
        else if (!strcmp(s, "--kernels")) a->kernels = 1;
        else if (!strcmp(s, "--torch-tuned")) a->torch_tuned = 1;
        else if (!strcmp(s, "--scaling")) a->scaling = 1;
        else if (!strcmp(s, "--threads") && v) a->threads = atoi(argv[++i]);
        else if (!strcmp(s, "--runs") && v) a->runs = atoi(argv[++i]);
        else if (!strcmp(s, "--warmup") && v) a->warmup = atoi(argv[++i]);
        else if (!strcmp(s, "--torch") && v) a->torch_checkpoint = argv[++i];
        else if (!strcmp(s, "--python") && v) a->torch_python = argv[++i];
        else if (s[0] != '-' && npos == 0) a->model_path = s, npos++;
        else if (s[0] != '-' && npos == 1) a->image_path = s, npos++;
        else return -1;
    }
    if (npos != (a->kernels ? 0 : 2) || a->runs < 1 || a->runs > BENCH_MAX_RUNS || a->warmup < 0 || a->threads < 0) return -1;
    return 0;
}

typedef struct {
    double total[BENCH_MAX_RUNS];
    double stage[CT_STAGE_COUNT][BENCH_MAX_RUNS];
    double gflop[CT_STAGE_COUNT];
    double torch_total[BENCH_MAX_RUNS];
    double torch_stage[CT_STAGE_COUNT][BENCH_MAX_RUNS];
    int torch_runs;
    long torch_rss_kb;
} bench_times;

static int run_once(ct_session *s, const ct_image *img, bench_times *t, int slot) {
    ct_result res;
    ct_error err;
    double t0 = now_ms();
    if (ct_run(s, img, &res, &err) != CT_OK) {
        fprintf(stderr, "bench: %s\n", err.message);
        return -1;
    }
    if (slot >= 0) {
        t->total[slot] = now_ms() - t0;
        for (int k = 0; k < CT_STAGE_COUNT; k++) {
            t->stage[k][slot] = res.timings_ms[k];
            t->gflop[k] = res.gflop[k];
        }
    }
    ct_result_free(&res);
    return 0;
}

static double measure_load_ms(const char *path) {
    double v[5];
    for (int i = 0; i < 5; i++) {
        ct_model *m;
        ct_error err;
        double t0 = now_ms();
        if (ct_model_load(path, &m, &err) != CT_OK) return NAN;
        v[i] = now_ms() - t0;
        ct_model_free(m);
    }
    return bench_median(v, 5);
}

/* one: the one-thread session's times (--scaling), or NULL. */
static void print_report(const bench_args *a, const bench_times *t, const bench_times *one, int threads,
                         double load_ms, double peak) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double total = bench_median(t->total, a->runs);
    if (a->json) {
        printf("{\"model\": \"%s\", \"image\": \"%s\", \"threads\": %d, \"runs\": %d, \"load_ms\": %.3f, "
               "\"total_ms\": {\"median\": %.3f, \"min\": %.3f, \"max\": %.3f}, \"stages\": {",
               a->model_path, a->image_path, threads, a->runs, load_ms, total, bench_min(t->total, a->runs),
               bench_max(t->total, a->runs));
        for (int k = 0, first = 1; k < CT_STAGE_COUNT; k++) {
            double ms = bench_median(t->stage[k], a->runs);
            if (ms == 0) continue;
            printf("%s\"%s\": {\"median_ms\": %.3f, \"gflop\": %.4f, \"gflops\": %.2f", first ? "" : ", ",
                   ct_stage_name(k), ms, t->gflop[k], t->gflop[k] / (ms * 1e-3));
            if (t->torch_runs) printf(", \"torch_median_ms\": %.3f", bench_median(t->torch_stage[k], t->torch_runs));
            printf("}");
            first = 0;
        }
        printf("}, \"peak_gflops_measured\": %.1f, \"peak_rss_kb\": %ld", peak, ru.ru_maxrss);
        if (t->torch_rss_kb) printf(", \"torch_peak_rss_kb\": %ld", t->torch_rss_kb);
        if (t->torch_runs)
            printf(", \"torch_total_ms\": {\"median\": %.3f}, \"speedup_vs_torch\": %.3f",
                   bench_median(t->torch_total, t->torch_runs), bench_median(t->torch_total, t->torch_runs) / total);
        if (one)
            printf(", \"one_thread_total_ms\": {\"median\": %.3f}, \"scaling\": %.3f",
                   bench_median(one->total, a->runs), bench_median(one->total, a->runs) / total);
        printf("}\n");
        return;
    }
    printf("model %s, image %s, %d thread%s, %d runs (median)\n", a->model_path, a->image_path, threads,
           threads == 1 ? "" : "s", a->runs);
    printf("%-12s %10s %8s %9s %7s%s\n", "stage", "ms", "GFLOP", "GFLOP/s", "%peak", t->torch_runs ? "   torch ms  ratio" : "");
    for (int k = 0; k < CT_STAGE_COUNT; k++) {
        double ms = bench_median(t->stage[k], a->runs);
        if (ms == 0) continue;
        double rate = t->gflop[k] / (ms * 1e-3);
        printf("%-12s %10.2f %8.3f %9.1f %6.1f%%", ct_stage_name(k), ms, t->gflop[k], rate,
               100.0 * rate / (peak * threads));
        if (t->torch_runs) {
            double tm = bench_median(t->torch_stage[k], t->torch_runs);
            if (tm > 0) printf(" %10.2f %6.2fx", tm, tm / ms);
        }
        printf("\n");
    }
    printf("total  %.2f ms (min %.2f, max %.2f)\n", total, bench_min(t->total, a->runs), bench_max(t->total, a->runs));
    if (t->torch_runs) {
        double tt = bench_median(t->torch_total, t->torch_runs);
        printf("torch  %.2f ms: ctinfer is %.2fx faster\n", tt, tt / total);
    }
    if (one) {
        double med = bench_median(one->total, a->runs), fastest = bench_min(one->total, a->runs);
        printf("1 thread, runs alternating: %.2f ms (min %.2f): %d threads scale %.2fx (by the fastest runs %.2fx)\n",
               med, fastest, threads, med / total, fastest / bench_min(t->total, a->runs));
    }
    printf("load %.2f ms, peak RSS %ld KB", load_ms, ru.ru_maxrss);
    if (t->torch_rss_kb) printf(" (PyTorch %ld KB: %.2fx less)", t->torch_rss_kb, (double)t->torch_rss_kb / ru.ru_maxrss);
    printf(", measured FP32 peak %.1f GFLOP/s per core\n", peak);
}

int main(int argc, char **argv) {
    bench_args a;
    if (parse_args(argc, argv, &a) != 0) {
        fputs(USAGE, stderr);
        return 2;
    }
    if (a.kernels) return bench_kernels(a.threads ? a.threads : ct_default_threads(), a.runs);
    /* Load timing first, while nothing else is resident: the peak RSS is then the run's. */
    double load_ms = measure_load_ms(a.model_path);
    ct_error err;
    ct_model *model;
    if (ct_model_load(a.model_path, &model, &err) != CT_OK) {
        fprintf(stderr, "bench: %s\n", err.message);
        return 1;
    }
    ct_options opt;
    ct_options_default(model, &opt);
    opt.threads = a.threads;
    ct_session *session;
    ct_slice slice;
    ct_slice_options so;
    ct_slice_options_default(&so);
    if (ct_session_new(model, &opt, &session, &err) != CT_OK || ct_load_slice(a.image_path, &so, &slice, &err) != CT_OK) {
        fprintf(stderr, "bench: %s\n", err.message);
        return 1;
    }
    ct_image img = {slice.width, slice.height, slice.channels, slice.pixels};
    int threads = a.threads ? a.threads : ct_default_threads();
    ct_session *one_thread = NULL;
    opt.threads = 1;
    if (a.scaling && ct_session_new(model, &opt, &one_thread, &err) != CT_OK) {
        fprintf(stderr, "bench: %s\n", err.message);
        return 1;
    }
    bench_torch *torch = NULL;
    if (a.torch_checkpoint &&
        !(torch = bench_torch_start(a.torch_python, a.torch_checkpoint, a.image_path, threads, a.torch_tuned)))
        return 1;
    static bench_times t, t1;   /* t1: the one-thread session's */
    for (int i = 0; i < a.warmup; i++)
        if (run_once(session, &img, &t, -1) != 0 || (torch && bench_torch_run(torch, NULL, NULL, NULL) != 0) ||
            (one_thread && run_once(one_thread, &img, &t1, -1) != 0))
            return 1;
    for (int i = 0; i < a.runs; i++) {
        if (run_once(session, &img, &t, i) != 0) return 1;
        if (one_thread && run_once(one_thread, &img, &t1, i) != 0) return 1;
        if (torch) {
            double stage[CT_STAGE_COUNT] = {0};
            if (bench_torch_run(torch, &t.torch_total[i], stage, &t.torch_rss_kb) != 0) return 1;
            for (int k = 0; k < CT_STAGE_COUNT; k++) t.torch_stage[k][i] = stage[k];
            t.torch_runs = i + 1;
        }
    }
    bench_torch_stop(torch);
    print_report(&a, &t, one_thread ? &t1 : NULL, threads, load_ms, bench_peak_gflops());
    ct_slice_free(&slice);
    ct_session_free(one_thread);
    ct_session_free(session);
    ct_model_free(model);
    return 0;
}
