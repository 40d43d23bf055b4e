// sh_f32_text (core/base/float_text.c), the JSON frames' number printer: over millions of random floats
// and every edge we could name (zeros, subnormals, powers of two and ten and their neighbours, FLT_MAX),
// its text reads back as the same float — with strtof, and with strtod then a float conversion (how the
// page's JSON.parse + Float32Array read it) — exactly as "%.9g" does; it is a JSON number; and it never
// has more digits than the shortest "%.*g" that reads back (and with as many, is the same number).
#include "check.h"

#include "simhost/float_text.h"

#include <float.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint32_t next_u32(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

static float from_bits(uint32_t b)
{
    float f;
    memcpy(&f, &b, sizeof f);
    return f;
}

static uint32_t bits_of(float f)
{
    uint32_t b;
    memcpy(&b, &f, sizeof b);
    return b;
}

// RFC 8259: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
static bool is_json_number(const char* s)
{
    if (*s == '-')
        s++;
    if (*s == '0')
        s++;
    else if (*s >= '1' && *s <= '9')
        while (*s >= '0' && *s <= '9')
            s++;
    else
        return false;
    if (*s == '.')
    {
        s++;
        if (!(*s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    if (*s == 'e' || *s == 'E')
    {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!(*s >= '0' && *s <= '9'))
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
    }
    return *s == '\0';
}

// Digits from the first non-zero one to the last non-zero one ("0.0120" and "1.2e-2" have 2, "1200" 2).
static int significant_digits(const char* s)
{
    int first = -1, last = -1, i = 0;
    for (; *s && *s != 'e'; s++)
    {
        if (*s < '0' || *s > '9')
            continue;
        if (*s != '0')
        {
            if (first < 0)
                first = i;
            last = i;
        }
        i++;
    }
    return first < 0 ? 0 : last - first + 1;
}

static int shortest_g_digits(float v)
{
    char buf[48];
    for (int p = 1; p <= 9; p++)
    {
        snprintf(buf, sizeof buf, "%.*g", p, (double)v);
        if (strtof(buf, NULL) == v)
            return p;
    }
    return 9;
}

static long failures_shown;

// One value: reads back both ways (bit for bit, so -0 stays -0), is JSON, agrees with %.9g, and (when
// asked) is no longer than the shortest %.*g.
static void check_value(float v, bool check_shortest)
{
    char out[SH_F32_TEXT_MAX], g9[48];
    int n = sh_f32_text(v, out);
    snprintf(g9, sizeof g9, "%.9g", (double)v);
    bool ok = n == (int)strlen(out) && n < SH_F32_TEXT_MAX && is_json_number(out) &&
              bits_of(strtof(out, NULL)) == bits_of(v) && bits_of((float)strtod(out, NULL)) == bits_of(v) &&
              bits_of(strtof(g9, NULL)) == bits_of(strtof(out, NULL));
    if (ok && check_shortest && v != 0.0f)
    {
        int mine = significant_digits(out), g = shortest_g_digits(v);
        char gbuf[48];
        snprintf(gbuf, sizeof gbuf, "%.*g", g, (double)v);
        // Never longer than the shortest %.*g; as long, then the same number: %.*g is the nearest decimal
        // of that length, and so is ours.
        ok = mine < significant_digits(gbuf) ||
             (mine == significant_digits(gbuf) && strtod(out, NULL) == strtod(gbuf, NULL));
    }
    CHECK(ok);
    if (!ok && failures_shown++ < 20)
        fprintf(stderr, "  %a: \"%s\" (%%.9g \"%s\")\n", (double)v, out, g9);
}

static void test_edges(void)
{
    check_value(0.0f, true);
    check_value(-0.0f, true);
    char out[SH_F32_TEXT_MAX];
    sh_f32_text(-0.0f, out);
    CHECK(strcmp(out, "-0") == 0);
    sh_f32_text(NAN, out);
    CHECK(strcmp(out, "0") == 0);
    sh_f32_text(INFINITY, out);
    CHECK(strcmp(out, "0") == 0);
    sh_f32_text(0.1f, out);
    CHECK(strcmp(out, "0.1") == 0);
    sh_f32_text(-9.81f, out);
    CHECK(strcmp(out, "-9.81") == 0);
    sh_f32_text(1e-5f, out);
    CHECK(strcmp(out, "1e-5") == 0);
    sh_f32_text(123456789.0f, out);
    CHECK(strtof(out, NULL) == 123456789.0f);
    float named[] = {FLT_MIN, FLT_MAX, FLT_TRUE_MIN,    FLT_EPSILON, 1.0f,        0.5f, 3.4028235e38f,
                     1e38f,   1e-38f,  1.17549421e-38f, 16777216.0f, 16777217.0f, 0.3f, 2.0f / 3.0f};
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++)
        for (int s = 0; s < 2; s++)
        {
            float v = s ? -named[i] : named[i];
            check_value(v, true);
            if (fabsf(v) < FLT_MAX)
            {
                check_value(nextafterf(v, INFINITY), true);
                check_value(nextafterf(v, -INFINITY), true);
            }
        }
    // Every power of two and of ten in range, with three neighbours each side.
    for (int e = -149; e <= 127; e++)
    {
        float p = ldexpf(1.0f, e), up = p, down = p;
        check_value(p, true);
        for (int k = 0; k < 3; k++)
        {
            if (up < FLT_MAX)
                check_value(up = nextafterf(up, INFINITY), true);
            check_value(down = nextafterf(down, 0.0f), true);
        }
    }
    for (int e = -45; e <= 38; e++)
    {
        char s[16];
        snprintf(s, sizeof s, "1e%d", e);
        float p = strtof(s, NULL), up = p, down = p;
        check_value(p, true);
        for (int k = 0; k < 3; k++)
        {
            check_value(up = nextafterf(up, INFINITY), true);
            check_value(down = nextafterf(down, 0.0f), true);
        }
    }
    // Around every power of ten, 200 floats each side: where the digit count and the exponent change.
    for (int e = -37; e <= 38; e++)
    {
        char s[16];
        snprintf(s, sizeof s, "1e%d", e);
        float up = strtof(s, NULL), down = up;
        for (int k = 0; k < 200; k++)
        {
            if (up < FLT_MAX)
                check_value(up = nextafterf(up, INFINITY), (k & 7) == 0);
            check_value(down = nextafterf(down, 0.0f), (k & 7) == 0);
        }
    }
    // The first and last 64 significands of every binade: the lower end of a binade has the narrower
    // rounding interval below it (a power of two), and odd significands have open intervals.
    for (uint32_t e = 1; e < 255; e++)
        for (uint32_t m = 0; m < 64; m++)
        {
            check_value(from_bits(e << 23 | m), (m & 3) == 0);
            check_value(from_bits(e << 23 | (0x7fffffu - m)), (m & 3) == 0);
        }
    // Every subnormal near the bottom, small integers and short decimals.
    for (uint32_t b = 1; b < 20000; b++)
        check_value(from_bits(b), b < 2000);
    for (int i = -20000; i <= 20000; i++)
    {
        check_value((float)i, (i & 15) == 0);
        check_value((float)i / 1000.0f, (i & 15) == 0);
    }
}

// Two million random floats: bit patterns (every exponent equally likely) and physics-sized values.
static void test_random(void)
{
    for (int i = 0; i < 1500000; i++)
    {
        float v = from_bits(next_u32());
        if (!isfinite(v))
            continue;
        check_value(v, (i & 31) == 0);
    }
    for (int i = 0; i < 500000; i++)
    {
        float v = ((float)next_u32() / 4294967296.0f - 0.5f) * 200.0f;
        check_value(v, (i & 31) == 0);
    }
}

int main(void)
{
    RUN(test_edges);
    RUN(test_random);
    return CHECK_SUMMARY();
}
