/* Minimal test harness: each tests/test_*.c is one program made of TEST
 * functions run by RUN(); a failed CHECK marks the current test failed and
 * the program ends with a line "RESULT <passed> <failed>" that tests/run.sh
 * adds up. Tests run from the repository root. */
#ifndef CT_TEST_H
#define CT_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int test_checks_failed_;   /* failed checks in the current test */
static int tests_passed_, tests_failed_;

#define CHECK(cond) CHECKF(cond, "%s", #cond)

#define CHECKF(cond, ...)                                                   \
    do {                                                                    \
        if (!(cond)) {                                                      \
            if (test_checks_failed_ < 10) {                                 \
                printf("    %s:%d: ", __FILE__, __LINE__);                  \
                printf(__VA_ARGS__);                                        \
                printf("\n");                                               \
            }                                                               \
            test_checks_failed_++;                                          \
        }                                                                   \
    } while (0)

/* |a-b| <= tol, reported with both values. */
#define CHECK_NEAR(a, b, tol)                                               \
    CHECKF(fabs((double)(a) - (double)(b)) <= (tol), "%s = %.9g, %s = %.9g, tol %g", \
           #a, (double)(a), #b, (double)(b), (double)(tol))

#define RUN(fn)                                                             \
    do {                                                                    \
        test_checks_failed_ = 0;                                            \
        fn();                                                               \
        if (test_checks_failed_) {                                          \
            printf("FAIL %s (%d checks)\n", #fn, test_checks_failed_);      \
            tests_failed_++;                                                \
        } else {                                                            \
            printf("ok   %s\n", #fn);                                       \
            tests_passed_++;                                                \
        }                                                                   \
        fflush(stdout);                                                     \
    } while (0)

#define TEST_SUMMARY()                                                      \
    (printf("RESULT %d %d\n", tests_passed_, tests_failed_), tests_failed_ ? 1 : 0)

#endif
