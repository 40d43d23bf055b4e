// The replay routes' path and query parsing (replay_query.h). Segments are read in place as (start,
// length) pairs; only the id is copied, so any path, however long or odd, parses in one pass.
#include "replay_query.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct seg
{
    const char* p;
    size_t n;
} seg;

// Splits "/ID/a/b/c" into at most max segments; returns how many (max when there are max or more).
static int split(const char* rest, seg* s, int max)
{
    int n = 0;
    const char* p = rest;
    while (*p == '/')
        p++;
    while (*p && n < max)
    {
        const char* slash = strchr(p, '/');
        s[n].p = p;
        s[n].n = slash ? (size_t)(slash - p) : strlen(p);
        n++;
        if (slash == NULL)
            break;
        p = slash + 1;
    }
    return n;
}

static bool is(seg s, const char* word)
{
    size_t n = strlen(word);
    return s.n == n && memcmp(s.p, word, n) == 0;
}

// The value of `name` in the query (as given, cut to size - 1 bytes), or NULL.
static const char* query_arg(const char* query, const char* name, char* out, size_t size)
{
    size_t n = strlen(name);
    for (const char* p = query; p && *p;)
    {
        const char* amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (len > n && strncmp(p, name, n) == 0 && p[n] == '=')
        {
            size_t v = len - n - 1;
            if (v >= size)
                v = size - 1;
            memcpy(out, p + n + 1, v);
            out[v] = '\0';
            return out;
        }
        p = amp ? amp + 1 : NULL;
    }
    return NULL;
}

// strtoll's reading of the len bytes at s (leading space, a sign, digits, nothing after) within lo ... hi.
// Done by hand because a path segment is not NUL-terminated here and may be any length.
static bool parse_int(const char* s, size_t len, int64_t lo, int64_t hi, int64_t* out)
{
    size_t i = 0;
    while (i < len && isspace((unsigned char)s[i]))
        i++;
    bool neg = false;
    if (i < len && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    if (i == len)
        return false;
    uint64_t v = 0;
    for (; i < len; i++)
    {
        if (s[i] < '0' || s[i] > '9')
            return false;
        if (v > (UINT64_MAX - 9) / 10)
            return false; // past int64_t's range long before this: strtoll's ERANGE
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > (uint64_t)INT64_MAX + (neg ? 1u : 0u))
        return false;
    int64_t x = neg ? (v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v) : (int64_t)v;
    if (x < lo || x > hi)
        return false;
    *out = x;
    return true;
}

static void bad(sh_replay_query* q, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
static void bad(sh_replay_query* q, const char* fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(q->error, sizeof q->error, fmt, ap);
    va_end(ap);
    q->status = 400;
}

static void parse_range(sh_replay_query* q, const char* query)
{
    char sbuf[32], cbuf[32];
    const char* s = query_arg(query, "start", sbuf, sizeof sbuf);
    const char* n = query_arg(query, "count", cbuf, sizeof cbuf);
    if (s == NULL)
        bad(q, "'start' is required");
    else if (n == NULL)
        bad(q, "'count' is required");
    else if (!parse_int(s, strlen(s), 0, UINT32_MAX, &q->frame))
        bad(q, "'start' must be an integer in 0 … 4294967295, got '%s'", s);
    else if (!parse_int(n, strlen(n), 1, INT32_MAX, &q->count))
        bad(q, "'count' must be an integer >= 1, got '%s'", n);
    else
    {
        int cap = q->kind == SH_REPLAY_BIN ? SH_REPLAY_RANGE_BIN_CAP : SH_REPLAY_RANGE_CAP;
        if (q->count > cap)
            q->count = cap;
    }
}

// The route of /{id}/what[/x[/y]] (n segments, the id included) and its numbers.
static void parse_route(sh_replay_query* q, const seg* s, int n, const char* query)
{
    seg what = s[1];
    if (n == 2 && is(what, "metadata"))
        q->kind = SH_REPLAY_METADATA;
    else if (n == 2 && is(what, "frames"))
        q->kind = SH_REPLAY_FRAMES;
    else if (n == 2 && is(what, "energy"))
        q->kind = SH_REPLAY_ENERGY;
    else if (n == 2 && is(what, "assets"))
        q->kind = SH_REPLAY_ASSETS;
    else if (n == 3 && is(what, "frames") && is(s[2], "range"))
        q->kind = SH_REPLAY_RANGE;
    else if (n == 2 && is(what, "frames.bin"))
        q->kind = SH_REPLAY_BIN;
    else if (n == 4 && is(what, "frames") && is(s[3], "state"))
    {
        q->kind = SH_REPLAY_STATE;
        if (!parse_int(s[2].p, s[2].n, 0, UINT32_MAX, &q->frame))
            bad(q, "frame id must be an integer in 0 … 4294967295, got '%.*s'",
                (int)(s[2].n < 40 ? s[2].n : 40), s[2].p);
    }
    else if (n == 3 && (is(what, "energy") || is(what, "velocity")))
    {
        q->kind = is(what, "energy") ? SH_REPLAY_BODY_ENERGY : SH_REPLAY_VELOCITY;
        if (!parse_int(s[2].p, s[2].n, 0, INT64_MAX, &q->body))
            bad(q, "body id must be an integer >= 0, got '%.*s'", (int)(s[2].n < 40 ? s[2].n : 40), s[2].p);
    }
    else
        q->kind = SH_REPLAY_UNKNOWN;
    if (q->kind == SH_REPLAY_RANGE || q->kind == SH_REPLAY_BIN)
        parse_range(q, query ? query : "");
}

void sh_replay_query_parse(const char* rest, const char* query, sh_replay_query* out)
{
    memset(out, 0, sizeof *out);
    seg s[5];
    int n = split(rest, s, 5);
    out->segments = n;
    if (n == 0)
    {
        out->kind = SH_REPLAY_LIST;
        return;
    }
    if (n > 4)
    {
        out->kind = SH_REPLAY_TOO_DEEP;
        return;
    }
    size_t len = s[0].n;
    out->id_too_long = len >= sizeof out->id;
    if (out->id_too_long)
        len = sizeof out->id - 1;
    memcpy(out->id, s[0].p, len);
    out->id[len] = '\0';
    out->kind = n == 1 ? SH_REPLAY_BARE : SH_REPLAY_UNKNOWN;
    if (n > 1)
        parse_route(out, s, n, query);
}
