// Shortest round-trip float32 → decimal, without snprintf (issue 18: "%.9g" was most of a JSON frame's
// cost). The method is Schubfach (R. Giulietti, "The Schubfach way to render doubles", 2020), for binary32:
//
//   v = c·2^q (c the 24-bit significand). Its rounding interval R — the reals that read back as v — runs
//   from halfway to the float below to halfway to the float above (a quarter ulp below a power of two),
//   closed when c is even (a tie reads back to the even significand) and open when it is odd.
//   k = floor(log10 of the interval's width) puts at most one multiple of 10^(k+1) and at least one of
//   10^k inside R. With v·10^-k, and R's ends, scaled by 4 and computed as integers rounded to odd (one
//   64×64-bit multiply each by a 63-bit approximation of 10^-k), the paper proves every comparison below
//   exact: take the multiple of 10^(k+1) inside R if there is one, else of s·10^k and (s+1)·10^k the one
//   inside, else the nearer to v. That is the shortest decimal that reads back, the nearest of that
//   length; trailing zeros are stripped when it is printed.
//
// That decimal reads back as v with strtof. The page reads it with JSON.parse (to a double) and then
// Float32Array: a decimal just inside an open end of R can round to the double that *is* the end — a
// midpoint between two floats — which then rounds to the even neighbour. Only a candidate within one unit
// (10^k/4) of an open end can be that close, and it is then checked exactly (reads_back): 4.5 % of
// values in ±100 and 12 % of random bit patterns, a double multiply or divide each. Subnormals, and a check
// the exact test cannot make (|k| > 22), take a slow path with snprintf.
//
// Measured (simhost bench-frames, 1000 bodies, 800 contact points, ~24 000 floats): the JSON encode went
// from 1.45 ms with the previous formatter (scaling by doubles, 6 … 9 digits tried in turn) to 1.22 ms;
// docs/frames.md has the rest of the way below 1 ms.
#include "simhost/float_text.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

__extension__ typedef unsigned __int128 u128;

static const double pow10_exact[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                       1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static const uint32_t pow10_u32[10] = {1,      10,      100,      1000,      10000,
                                       100000, 1000000, 10000000, 100000000, 1000000000};

// g1[k + 45] = floor(g / 2^63), g = floor(10^-k · 2^(125 - floor(-k·log2 10))) + 1, for k = -45 … 31 (every
// k a binary32 needs): the top 63 bits of 10^-k normalised to [2^125, 2^126). Generated with exact
// integer arithmetic (Python's big integers).
#define G1_K_MIN (-45)
static const uint64_t g1_table[77] = {
    0x59aedfc10d7279c5u, 0x47bf19673df52e37u, 0x72cb5bd86321e38cu, 0x5bd5e313828182d6u, 0x4977e8dc68679bdfu,
    0x758ca7c70d7292feu, 0x5e0a1fd271287598u, 0x4b3b4ca85a86c47au, 0x785ee10d5da46d90u, 0x604be73de4838ad9u,
    0x4d0985cb1d3608aeu, 0x7b426fab61f00de3u, 0x629b8c891b267182u, 0x4ee2d6d415b85aceu, 0x7e37be2022c0914bu,
    0x64f964e68233a76fu, 0x50c783eb9b5c85f2u, 0x409f9cbc7c4a04c2u, 0x6765c793fa10079du, 0x52b7d2dcc80cd2e4u,
    0x422ca8b0a00a4250u, 0x69e10de76676d080u, 0x54b40b1f852bda00u, 0x43c33c1937564800u, 0x6c6b935b8bbd4000u,
    0x56bc75e2d6310000u, 0x4563918244f40000u, 0x6f05b59d3b200000u, 0x58d15e1762800000u, 0x470de4df82000000u,
    0x71afd498d0000000u, 0x5af3107a40000000u, 0x48c2739500000000u, 0x746a528800000000u, 0x5d21dba000000000u,
    0x4a817c8000000000u, 0x7735940000000000u, 0x5f5e100000000000u, 0x4c4b400000000000u, 0x7a12000000000000u,
    0x61a8000000000000u, 0x4e20000000000000u, 0x7d00000000000000u, 0x6400000000000000u, 0x5000000000000000u,
    0x4000000000000000u, 0x6666666666666666u, 0x51eb851eb851eb85u, 0x4189374bc6a7ef9du, 0x68db8bac710cb295u,
    0x53e2d6238da3c211u, 0x431bde82d7b634dau, 0x6b5fca6af2bd215eu, 0x55e63b88c230e77eu, 0x44b82fa09b5a52cbu,
    0x6df37f675ef6eadfu, 0x57f5ff85e592557fu, 0x465e6604b7a84465u, 0x709709a125da0709u, 0x5a126e1a84ae6c07u,
    0x480ebe7b9d58566cu, 0x734aca5f6226f0adu, 0x5c3bd5191b525a24u, 0x49c97747490eae83u, 0x760f253edb4ab0d2u,
    0x5e72843249088d75u, 0x4b8ed0283a6d3df7u, 0x78e480405d7b9658u, 0x60b6cd004ac94513u, 0x4d5f0a66a23a9da9u,
    0x7bcb43d769f762a8u, 0x63090312bb2c4eedu, 0x4f3a68dbc8f03f24u, 0x7ec3daf941806506u, 0x65697bfa9acd1d9fu,
    0x51212ffbaf0a7e18u, 0x40e7599625a1fe7au,
};

// floor(e·log2 10), floor(q·log10 2) and floor(log10(3/4 · 2^q)), exact over the ranges used here (checked
// against the real functions for |e| < 60, -160 < q < 120 when the constants were chosen).
static int flog2pow10(int e)
{
    return (int)(((int64_t)e * 1741647) >> 19);
}
static int flog10pow2(int q)
{
    return (int)(((int64_t)q * 661971961083LL) >> 41);
}
static int flog10_three_quarters_pow2(int q)
{
    return (int)(((int64_t)q * 661971961083LL - 274743187321LL) >> 41);
}

// (g · cp) / 2^95 rounded to odd: the scaled value's integer part, its lowest bit set when any bit below
// was (so "exactly an integer" stays distinguishable from "just above it").
static uint32_t round_to_odd(uint64_t g, uint64_t cp)
{
    uint64_t x1 = (uint64_t)(((u128)g * cp) >> 64);
    return (uint32_t)((x1 >> 31) | (((x1 & 0xffffffffu) + 0xffffffffu) >> 32));
}

// True when the decimal c·10^k (c < 2^31, |k| <= 22) reads back as the float a (> 0, normal) through a
// double: c·10^k is one correctly rounded double (10^k is exact for k <= 22), as strtod makes it. A double
// exactly halfway between two floats (29 low mantissa bits = 1000…0) is kept only when the decimal is that
// midpoint exactly, so every reader sees the same tie.
static bool reads_back(uint64_t c, int k, float a)
{
    double r = k >= 0 ? (double)c * pow10_exact[k] : (double)c / pow10_exact[-k];
    uint64_t bits;
    memcpy(&bits, &r, sizeof bits);
    if ((bits & 0x1fffffffu) == 0x10000000u)
    {
        double rest = k >= 0 ? fma((double)c, pow10_exact[k], -r) : fma(r, pow10_exact[-k], -(double)c);
        if (rest != 0.0)
            return false;
    }
    return (float)r == a;
}

// The chosen candidate d (4·d in the scaled units) against an open end: within one unit of vl or vr, the
// exact check decides; false when it refuses or cannot decide.
static bool safe_through_double(uint32_t d, int k, uint32_t vl, uint32_t vr, bool open, float a)
{
    uint64_t d4 = (uint64_t)d << 2;
    if (!open || (d4 > (uint64_t)vl + 1 && d4 + 1 < (uint64_t)vr))
        return true;
    return k >= -22 && k <= 22 && reads_back(d, k, a);
}

// Shortest digits of a (> 0, normal, bits its pattern) as d·10^k; false for the slow path.
static bool shortest(float a, uint32_t bits, uint32_t* d_out, int* k_out)
{
    int biased = (int)((bits >> 23) & 0xff);
    int q = biased - 150;
    uint32_t c = (bits & 0x7fffffu) | 0x800000u;
    // Integers below 2^24 are their own shortest decimal (the paper's fast path).
    if (q < 0 && q > -24 && (c & ((1u << -q) - 1)) == 0)
    {
        *d_out = c >> -q;
        *k_out = 0;
        return true;
    }
    bool open = (c & 1) != 0;
    uint64_t cb = (uint64_t)c << 2, cbr = cb + 2, cbl;
    int k;
    if (c != 0x800000u || biased == 1) // 2^-126: the float below is a subnormal, as far away as the one above
    {
        cbl = cb - 2;
        k = flog10pow2(q);
    }
    else // a power of two: the float below is half as far away
    {
        cbl = cb - 1;
        k = flog10_three_quarters_pow2(q);
    }
    int h = q + flog2pow10(-k) + 33;
    uint64_t g = g1_table[k - G1_K_MIN] + 1;
    uint32_t vb = round_to_odd(g, cb << h), vbl = round_to_odd(g, cbl << h), vbr = round_to_odd(g, cbr << h);
    uint32_t lo_add = open ? 1u : 0u; // an open end: the candidate must be strictly inside
    uint32_t s = vb >> 2;
    uint32_t sp10 = s / 10 * 10, tp10 = sp10 + 10;
    bool upin = (uint64_t)vbl + lo_add <= (uint64_t)sp10 << 2;
    bool wpin = ((uint64_t)tp10 << 2) + lo_add <= vbr;
    uint32_t d;
    if (upin != wpin)
        d = upin ? sp10 : tp10;
    else
    {
        uint32_t t = s + 1;
        bool uin = (uint64_t)vbl + lo_add <= (uint64_t)s << 2;
        bool win = ((uint64_t)t << 2) + lo_add <= vbr;
        if (uin != win)
            d = uin ? s : t;
        else
        {
            int64_t cmp = (int64_t)vb - (((int64_t)s + t) << 1); // v against the midpoint of s and t
            d = cmp < 0 || (cmp == 0 && (s & 1) == 0) ? s : t;
        }
    }
    if (!safe_through_double(d, k, vbl, vbr, open, a))
        return false;
    *d_out = d;
    *k_out = k;
    return true;
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

// c / 10^f, and c % 10^f in *lo, for f = 1 … 8: one case per constant divisor, so each is a multiply.
static uint32_t split_pow10(uint32_t c, int f, uint32_t* lo)
{
    uint32_t hi;
    switch (f)
    {
        case 1:
            hi = c / 10;
            break;
        case 2:
            hi = c / 100;
            break;
        case 3:
            hi = c / 1000;
            break;
        case 4:
            hi = c / 10000;
            break;
        case 5:
            hi = c / 100000;
            break;
        case 6:
            hi = c / 1000000;
            break;
        case 7:
            hi = c / 10000000;
            break;
        default:
            hi = c / 100000000;
            break;
    }
    *lo = c - hi * pow10_u32[f];
    return hi;
}

// Writes c·10^q (0 < c < 10^9) as %g does it: plain for 1e-4 <= value < 1e9, else d.ddde±x. The digits
// are stored straight into out, the two sides of a decimal point separately: building them in a scratch
// buffer and copying it with one 16-byte load made that load wait on a dozen 2-byte stores (a failed store
// forward, a quarter of the time in perf).
static int format(uint32_t c, int q, char* out)
{
    while (c % 10 == 0)
    {
        c /= 10;
        q++;
    }
    int nd = 1;
    while (nd < 9 && c >= pow10_u32[nd])
        nd++;
    int x = q + nd - 1; // exponent of the leading digit
    int len;
    if (x >= -4 && x < 0)
    {
        memcpy(out, "0.000000", 8);
        len = 1 - x; // "0." and -x - 1 zeros
        put_digits(c, nd, out + len);
        len += nd;
    }
    else if (x >= 0 && x < 9 && nd <= x + 1) // an integer: its digits, then zeros
    {
        put_digits(c, nd, out);
        memcpy(out + nd, "000000000", 9);
        len = x + 1;
    }
    else
    {
        int whole = x >= 0 && x < 9 ? x + 1 : 1; // digits before the point
        len = whole;
        if (nd > whole)
        {
            uint32_t lo;
            put_digits(split_pow10(c, nd - whole, &lo), whole, out);
            out[whole] = '.';
            put_digits(lo, nd - whole, out + whole + 1);
            len = nd + 1;
        }
        else
            put_digits(c, nd, out);
        if (x < 0 || x >= 9)
        {
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
    uint32_t bits, d;
    memcpy(&bits, &a, sizeof bits);
    int k;
    if (bits >= 0x800000u && shortest(a, bits, &d, &k)) // subnormals (exponent field 0) take the slow path
        return len + format(d, k, out + len);
    return len + slow(a, out + len);
}
