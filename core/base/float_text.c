// Shortest round-trip float32 → decimal, without snprintf (issue 18: "%.9g" was most of a JSON frame's
// cost). The method is the classic "try increasing precision", with the round trip decided by interval
// arithmetic instead of a parse:
//
//   1. Scale |v| by a power of ten so that its integer part N has 9 digits: t = |v|·10^(8-E).
//   2. The decimals that read back as v are those strictly inside v's rounding interval — half the gap
//      to each neighbouring float (a quarter ulp below a power of two), scaled the same way.
//   3. For p = 6 … 9 digits take the two p-digit neighbours of t (N / 10^(9-p) and one more) and keep the
//      nearer one that lies inside. p starts at 6 because a float that needs fewer digits is within 2^-24
//      of a ≤5-digit decimal, which is then also its nearest 6-digit decimal: stripping the trailing zeros
//      of the p = 6 answer gives it.
//
// t and the gaps carry at most three roundings (relative 3.3e-16), so a candidate's distance to t is
// known to 1e-8 of the gap (t < 1e9, the gap > t·2^-25). Only a candidate within UNSURE (1e-6) of the
// interval's edge is checked exactly: c·10^k with c < 2^30 and |k| <= 22 is one correctly rounded double
// (10^k is exact in a double for k <= 22), and float rounding is decided by which midpoint interval a
// value lies in, every midpoint being a double — so that double rounds like the decimal unless it *is* a
// midpoint, which is refused unless the decimal is exactly that midpoint. A kept candidate therefore reads
// back as v with strtof and with strtod + (float) (the page's JSON.parse + Float32Array).
//
// Subnormals, and the rare edge case the exact check cannot take (|k| > 22), take a slow path with
// snprintf.
#include "simhost/float_text.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                       1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static const uint32_t pow10_u32[10] = {1,      10,      100,      1000,      10000,
                                       100000, 1000000, 10000000, 100000000, 1000000000};

#define UNSURE 1e-6

// c·10^k rounded once to a double; |k| <= 22.
static double decimal_value(uint64_t c, int k)
{
    return k >= 0 ? (double)c * pow10_exact[k] : (double)c / pow10_exact[-k];
}

// True when the decimal c·10^k (c < 2^31, |k| <= 22) reads back as the float a (> 0, normal).
static bool reads_back(uint64_t c, int k, float a)
{
    double r = decimal_value(c, k);
    uint64_t bits;
    memcpy(&bits, &r, sizeof bits);
    // A double exactly halfway between two normal floats has its 29 low mantissa bits = 1000…0. Kept only
    // when the decimal is that midpoint exactly (no rounding happened: then every reader sees the same
    // tie and breaks it to even); fma is a slow call but runs only on this rare path.
    if ((bits & 0x1fffffffu) == 0x10000000u)
    {
        double rest = k >= 0 ? fma((double)c, pow10_exact[k], -r) : fma(r, pow10_exact[-k], -(double)c);
        if (rest != 0.0)
            return false;
    }
    return (float)r == a;
}

// x·10^m for any m in -60 … 60, in at most three exact-power steps (each one rounding).
static double times_pow10(double x, int m)
{
    while (m > 22)
    {
        x *= 1e22;
        m -= 22;
    }
    while (m < -22)
    {
        x /= 1e22;
        m += 22;
    }
    return m >= 0 ? x * pow10_exact[m] : x / pow10_exact[-m];
}

// The power of ten E with 10^E <= a < 10^(E+1) and the scale 10^(8-E) applied to a (normal) and to its
// half gap: t = a·10^(8-E) in [1e8, 1e9).
static bool scale(float a, double half_gap, int* e10, double* t, double* gap)
{
    uint32_t bits;
    memcpy(&bits, &a, sizeof bits);
    int e2 = (int)((bits >> 23) & 0xff) - 127; // 2^e2 <= a < 2^(e2+1) for a normal a
    // floor(e2·log10 2) with log10 2 ≈ 78913 / 2^18; off by one at most, which the loop below fixes.
    int x = e2 * 78913;
    int e = x >= 0 ? x >> 18 : -((-x + (1 << 18) - 1) >> 18);
    for (int tries = 0; tries < 3; tries++)
    {
        double s = times_pow10((double)a, 8 - e);
        if (s >= 1e9)
            e++;
        else if (s < 1e8)
            e--;
        else
        {
            *e10 = e;
            *t = s;
            *gap = times_pow10(half_gap, 8 - e);
            return true;
        }
    }
    return false;
}

// Is a candidate at distance dist from t (in t's scale) strictly inside the rounding interval whose
// half-width on its side is gap? Decided in doubles unless dist is within UNSURE of gap; there the exact
// test on c·10^k decides, or *unsure is set when it cannot (|k| > 22).
static bool inside(double dist, double gap, uint32_t c, int k, float a, bool* unsure)
{
    if (dist < gap * (1 - UNSURE))
        return true;
    if (dist > gap * (1 + UNSURE))
        return false;
    if (k < -22 || k > 22)
    {
        *unsure = true;
        return false;
    }
    return reads_back(c, k, a);
}

// Shortest digits of a (> 0, normal) as c·10^q, c having *nd digits; false when the fast path cannot
// decide.
static bool shortest(float a, uint32_t* c_out, int* q_out, int* nd)
{
    uint32_t bits;
    memcpy(&bits, &a, sizeof bits);
    uint32_t biased = (bits >> 23) & 0xff;
    if (biased <= 1) // subnormal, or 2^-126 whose lower gap is not the halved one of a power of two
        return false;
    // Half the gap to the next float up: 2^(e2 - 24), built from its bits (a normal double here).
    uint64_t pow2 = (uint64_t)((int)biased - 127 - 24 + 1023) << 52;
    double half_gap;
    memcpy(&half_gap, &pow2, sizeof half_gap);
    int e10;
    double t, hi;
    if (!scale(a, half_gap, &e10, &t, &hi))
        return false;
    double lo = (bits & 0x7fffff) == 0 ? hi / 2 : hi; // below a power of two the gap halves
    uint32_t n = (uint32_t)t;
    double frac = t - (double)n; // exact: t < 2^30 has 22 fraction bits to spare
    bool unsure = false;
    // p = 6 … 9 digits: N's leading p digits (divisions by constants, which compile to multiplications).
    const uint32_t leading[4] = {n / 1000, n / 100, n / 10, n};
    static const uint32_t steps[4] = {1000, 100, 10, 1};
    for (int i = 0; i < 4; i++)
    {
        uint32_t lo_c = leading[i], hi_c = lo_c + 1;
        int k = e10 - (5 + i);
        double below = (double)(n - lo_c * steps[i]) + frac; // t minus the lower candidate, in [0, step)
        double above = (double)steps[i] - below;             // the upper candidate minus t
        bool lo_ok = inside(below, lo, lo_c, k, a, &unsure);
        bool hi_ok = inside(above, hi, hi_c, k, a, &unsure);
        if (unsure)
            return false;
        if (lo_ok && hi_ok) // both read back: the nearer to a
            lo_ok = below <= above;
        if (lo_ok || hi_ok)
        {
            *c_out = lo_ok ? lo_c : hi_c;
            *q_out = k;
            *nd = 6 + i + (*c_out == pow10_u32[6 + i]); // 999…9 + 1 carries into one more digit
            return true;
        }
    }
    return false;
}

static const char two_digits[201] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

// The nd decimal digits of c into out[0..nd), two at a time from a table (a divide per digit, and
// counting the digits, were a fifth of the time).
static void put_digits(uint32_t c, int nd, char* out)
{
    int i = nd;
    while (i >= 2)
    {
        uint32_t r = c % 100;
        c /= 100;
        i -= 2;
        memcpy(out + i, two_digits + 2 * r, 2);
    }
    if (i == 1)
        out[0] = (char)('0' + c);
}

// Writes c·10^q (c has nd digits, nd <= 10) as %g does it: plain for 1e-4 <= value < 1e9, else
// d.ddde±x. Digits move with fixed 16-byte copies that may write past the text (never past 27 bytes
// from out): SH_F32_TEXT_MAX leaves room, and the compiler inlines fixed-size copies.
static int format(uint32_t c, int q, int nd, char* out)
{
    while (c % 10 == 0)
    {
        c /= 10;
        q++;
        nd--;
    }
    char digits[32] = {0};
    put_digits(c, nd, digits);
    int x = q + nd - 1; // exponent of the leading digit
    int len;
    if (x >= -4 && x < 0)
    {
        memcpy(out, "0.000000", 8);
        len = 1 - x; // "0." and -x - 1 zeros
        memcpy(out + len, digits, 16);
        len += nd;
    }
    else if (x >= 0 && x < 9)
    {
        int whole = x + 1;
        memcpy(out, digits, 16);
        if (nd <= whole)
        {
            memcpy(out + nd, "000000000", 9);
            len = whole;
        }
        else
        {
            out[whole] = '.';
            memcpy(out + whole + 1, digits + whole, 16);
            len = nd + 1;
        }
    }
    else
    {
        out[0] = digits[0];
        len = 1;
        if (nd > 1)
        {
            out[1] = '.';
            memcpy(out + 2, digits + 1, 16);
            len = nd + 1;
        }
        out[len++] = 'e';
        if (x < 0)
            out[len++] = '-';
        int ax = x < 0 ? -x : x; // <= 45 for a float
        if (ax >= 10)
        {
            memcpy(out + len, two_digits + 2 * ax, 2);
            len += 2;
        }
        else
            out[len++] = (char)('0' + ax);
    }
    out[len] = '\0';
    return len;
}

// Subnormals and the rare undecided case: the fewest %.*g digits that read back both ways. %.9g always reads
// back with strtof, so the loop ends by p = 9 in practice.
static int slow(float a, char* out)
{
    for (int p = 1; p <= 9; p++)
    {
        int n = snprintf(out, SH_F32_TEXT_MAX, "%.*g", p, (double)a);
        if (strtof(out, NULL) == a && (float)strtod(out, NULL) == a)
            return n;
    }
    return snprintf(out, SH_F32_TEXT_MAX, "%.9g", (double)a);
}

int sh_f32_text(float v, char* out)
{
    if (!isfinite(v))
        v = 0.0f;
    int len = 0;
    if (signbit(v))
        out[len++] = '-';
    float a = fabsf(v);
    if (a == 0.0f)
    {
        out[len++] = '0';
        out[len] = '\0';
        return len;
    }
    uint32_t c;
    int q, nd;
    if (shortest(a, &c, &q, &nd))
        return len + format(c, q, nd, out + len);
    return len + slow(a, out + len);
}
