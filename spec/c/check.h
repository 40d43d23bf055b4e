#pragma once
// Minimal assertions for the C runners (box3d@test/test_macros.h style): a failed check prints where and
// what was measured, counts, and the runner's main returns non-zero.
#include <math.h>
#include <stdio.h>

static int check_failures;
static int check_count;

#define CHECK(c)                                                                                             \
    do                                                                                                       \
    {                                                                                                        \
        check_count++;                                                                                       \
        if (!(c))                                                                                            \
        {                                                                                                    \
            check_failures++;                                                                                \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);                            \
        }                                                                                                    \
    } while (0)

// |actual - expected| <= tol, printing both on failure.
#define CHECK_NEAR(expected, actual, tol)                                                                    \
    do                                                                                                       \
    {                                                                                                        \
        check_count++;                                                                                       \
        double e_ = (expected), a_ = (actual);                                                               \
        if (!(fabs(a_ - e_) <= (tol)))                                                                       \
        {                                                                                                    \
            check_failures++;                                                                                \
            fprintf(stderr, "%s:%d: %s = %.9g, expected %.9g (tol %g)\n", __FILE__, __LINE__, #actual, a_,   \
                    e_, (double)(tol));                                                                      \
        }                                                                                                    \
    } while (0)

#define RUN(test)                                                                                            \
    do                                                                                                       \
    {                                                                                                        \
        int before_ = check_failures;                                                                        \
        test();                                                                                              \
        printf("%s %s\n", check_failures == before_ ? "ok  " : "FAIL", #test);                               \
    } while (0)

#define CHECK_SUMMARY()                                                                                      \
    (printf("%d checks, %d failed\n", check_count, check_failures), check_failures == 0 ? 0 : 1)
