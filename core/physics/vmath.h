#pragma once
// The physics' one small math header (static inline, const-correct). Each function performs the same
// operations in the same order as the code it replaced, so results are bit-identical (the build is
// ISO C11 without FMA flags: no contraction). cglm stays for the stored vec3/versor arrays.

// Hot helpers: fminf/fmaxf are libm calls without -ffinite-math-only (NaN rules), and GCC declines
// to inline the solver's small vector helpers at -O2 (measured with perf: a third of the solve time).
#define SH_INLINE static inline __attribute__((always_inline))

SH_INLINE float min_f(float a, float b)
{
    return a < b ? a : b;
}

SH_INLINE float max_f(float a, float b)
{
    return a > b ? a : b;
}
