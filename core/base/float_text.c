// Shortest round-trip float32 → decimal, without snprintf (issue 18: "%.9g" was most of a JSON frame's
// cost). The method is the classic "try increasing precision" with an exact check instead of a parse:
//
//   1. Scale |v| by a power of ten so that its integer part N has 9 digits (t = |v|·10^(8-E)).
//   2. For p = 6 … 9 digits take the two p-digit neighbours of t (N / 10^(9-p) and one more) and keep the
//      nearer one that reads back as v. p starts at 6 because a float that needs fewer digits is within
//      2^-24 of a ≤5-digit decimal, which is then also its nearest 6-digit decimal: stripping the trailing
//      zeros of the p = 6 answer gives it.
//   3. "Reads back as v" is decided exactly: the candidate c·10^k with c < 2^30 and |k| <= 22 becomes one
//      correctly rounded double (10^k is exact in a double for k <= 22, so c·10^k and c/10^-k round once).
//      Float rounding is decided by which float midpoint interval a value lies in, and every midpoint is
//      itself a double, so the double lies in the same interval as the decimal unless it *is* a midpoint —
//      that case is refused unless the decimal is exactly the midpoint. So a kept candidate reads back as v
//      with strtof and with strtod + (float).
//
// Magnitudes outside 1e-14 … 1e27 (where 10^k would not be exact) take a slow path with snprintf, which
// physics frames almost never reach.
#include "simhost/float_text.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                       1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static const uint32_t pow10_u32[10] = {1,      10,      100,      1000,      10000,
                                       100000, 1000000, 10000000, 100000000, 1000000000};

#define FAST_MIN_E10 (-14) // 8 - E10 <= 22 and E10 - 8 >= -22
#define FAST_MAX_E10 27

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

// The power of ten E with 10^E <= a < 10^(E+1), and t = a·10^(8-E) in [1e8, 1e9) (up to rounding).
static bool scale(float a, int* e10, double* t)
{
    uint32_t bits;
    memcpy(&bits, &a, sizeof bits);
    int e2 = (int)((bits >> 23) & 0xff) - 127; // 2^e2 <= a < 2^(e2+1) for a normal a
    // floor(e2·log10 2) with log10 2 ≈ 78913 / 2^18; off by one at most, which the loop below fixes.
    int x = e2 * 78913;
    int e = x >= 0 ? x >> 18 : -((-x + (1 << 18) - 1) >> 18);
    for (int tries = 0; tries < 3; tries++)
    {
        if (e < FAST_MIN_E10 || e > FAST_MAX_E10)
            return false;
        double s = 8 - e >= 0 ? (double)a * pow10_exact[8 - e] : (double)a / pow10_exact[e - 8];
        if (s >= 1e9)
            e++;
        else if (s < 1e8)
            e--;
        else
        {
            *e10 = e;
            *t = s;
            return true;
        }
    }
    return false;
}

// Shortest digits of a (> 0) as c·10^q; false when the fast path cannot decide.
static bool shortest(float a, uint64_t* c_out, int* q_out)
{
    int e10;
    double t;
    if (!scale(a, &e10, &t))
        return false;
    uint64_t n = (uint64_t)t;
    for (int p = 6; p <= 9; p++)
    {
        uint32_t div = pow10_u32[9 - p];
        uint64_t lo = n / div, hi = lo + 1;
        int k = e10 - (p - 1);
        bool lo_ok = reads_back(lo, k, a), hi_ok = reads_back(hi, k, a);
        if (lo_ok && hi_ok) // both read back: the nearer to a
            lo_ok = t - (double)(lo * div) <= (double)(hi * div) - t;
        if (lo_ok || hi_ok)
        {
            *c_out = lo_ok ? lo : hi;
            *q_out = k;
            return true;
        }
    }
    return false;
}

static int write_u64(uint64_t c, char* out)
{
    char tmp[24];
    int n = 0;
    do
    {
        tmp[n++] = (char)('0' + c % 10);
        c /= 10;
    } while (c != 0);
    for (int i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

// Writes c·10^q (c > 0) as %g does it: plain for 1e-4 <= value < 1e9, else d.ddde±x.
static int format(uint64_t c, int q, char* out)
{
    while (c % 10 == 0)
    {
        c /= 10;
        q++;
    }
    char digits[24];
    int nd = write_u64(c, digits);
    int x = q + nd - 1; // exponent of the leading digit
    int len = 0;
    if (x >= -4 && x < 0)
    {
        out[len++] = '0';
        out[len++] = '.';
        for (int i = 0; i < -x - 1; i++)
            out[len++] = '0';
        memcpy(out + len, digits, (size_t)nd);
        len += nd;
    }
    else if (x >= 0 && x < 9)
    {
        int whole = x + 1;
        for (int i = 0; i < whole; i++)
            out[len++] = i < nd ? digits[i] : '0';
        if (nd > whole)
        {
            out[len++] = '.';
            memcpy(out + len, digits + whole, (size_t)(nd - whole));
            len += nd - whole;
        }
    }
    else
    {
        out[len++] = digits[0];
        if (nd > 1)
        {
            out[len++] = '.';
            memcpy(out + len, digits + 1, (size_t)(nd - 1));
            len += nd - 1;
        }
        out[len++] = 'e';
        if (x < 0)
            out[len++] = '-';
        len += write_u64((uint64_t)(x < 0 ? -x : x), out + len);
    }
    out[len] = '\0';
    return len;
}

// Outside the fast range (and for the rare value neither neighbour decides): the fewest %.*g digits that
// read back both ways. %.9g always reads back with strtof, so the loop ends by p = 9 in practice.
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
    uint64_t c;
    int q;
    if (shortest(a, &c, &q))
        return len + format(c, q, out + len);
    return len + slow(a, out + len);
}
