// Bytes -> the replay routes' parser (sh_replay_query_parse, core/net/replay_query.c): the bytes before the
// first '?' are the path after /api/v1/simulations, the rest the query string. Oracle: the route named
// fits the segment count, the id is one whole segment (cut only when flagged), numbers are in their
// route's range and agree with strtoll on the same text, and every rejection is a 400 with a message.
#include "replay_query.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void require(int ok, const char* what)
{
    if (!ok)
    {
        fprintf(stderr, "fuzz_replay_query: %s\n", what);
        abort();
    }
}

// The reference reading of a number: strtoll over the whole text, as the routes did before the split.
static int reference_int(const char* s, size_t len, int64_t lo, int64_t hi, int64_t* out)
{
    char text[64];
    if (len == 0 || len >= sizeof text)
        return -1; // not compared
    memcpy(text, s, len);
    text[len] = '\0';
    char* end;
    errno = 0;
    long long v = strtoll(text, &end, 10);
    if (errno != 0 || *end != '\0' || v < lo || v > hi)
        return 0;
    *out = v;
    return 1;
}

// The n-th segment of path (leading '/' skipped, split at '/'), or NULL.
static const char* segment(const char* path, int n, size_t* len)
{
    const char* p = path;
    while (*p == '/')
        p++;
    for (int i = 0; *p; i++)
    {
        const char* slash = strchr(p, '/');
        *len = slash ? (size_t)(slash - p) : strlen(p);
        if (i == n)
            return p;
        if (slash == NULL)
            break;
        p = slash + 1;
    }
    return NULL;
}

static void check_number(const char* path, int seg, int64_t lo, int64_t hi, const sh_replay_query* q,
                         int64_t got)
{
    size_t len = 0;
    const char* s = segment(path, seg, &len);
    require(s != NULL, "a numbered route without its segment");
    int64_t want = 0;
    int ref = reference_int(s, len, lo, hi, &want);
    if (ref == 1)
        require(q->status == 0 && got == want, "a number strtoll reads differently");
    else if (ref == 0)
        require(q->status == 400, "a number strtoll refuses was accepted");
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    char* text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    char* query = strchr(text, '?');
    if (query != NULL)
        *query++ = '\0';
    sh_replay_query q;
    sh_replay_query_parse(text, query, &q);
    require(q.kind >= SH_REPLAY_LIST && q.kind <= SH_REPLAY_UNKNOWN, "a kind out of range");
    require((q.kind == SH_REPLAY_LIST) == (q.segments == 0), "LIST is exactly no segment");
    require((q.kind == SH_REPLAY_TOO_DEEP) == (q.segments > 4), "TOO_DEEP is exactly five or more segments");
    require(q.kind != SH_REPLAY_BARE || q.segments == 1, "BARE is exactly one segment");
    require(q.status == 0 || q.status == 400, "a status other than 0 or 400");
    require(q.status == 0 || strlen(q.error) > 0, "a rejection without a message");
    require(memchr(q.error, '\0', sizeof q.error) != NULL, "an unterminated error");
    if (q.kind != SH_REPLAY_LIST && q.kind != SH_REPLAY_TOO_DEEP)
    {
        size_t len = 0;
        const char* id = segment(text, 0, &len);
        require(id != NULL && memchr(q.id, '\0', sizeof q.id) != NULL, "an unterminated id");
        if (q.id_too_long)
            require(len >= sizeof q.id && strncmp(q.id, id, sizeof q.id - 1) == 0, "a cut id that was short");
        else
            require(strlen(q.id) == len && strncmp(q.id, id, len) == 0,
                    "an id that is not the first segment");
    }
    switch (q.kind)
    {
        case SH_REPLAY_STATE:
            require(q.segments == 4, "STATE without four segments");
            check_number(text, 2, 0, UINT32_MAX, &q, q.frame);
            break;
        case SH_REPLAY_BODY_ENERGY:
        case SH_REPLAY_VELOCITY:
            require(q.segments == 3, "a series without three segments");
            check_number(text, 2, 0, INT64_MAX, &q, q.body);
            break;
        case SH_REPLAY_RANGE:
        case SH_REPLAY_BIN:
            if (q.status == 0)
            {
                int64_t cap = q.kind == SH_REPLAY_BIN ? SH_REPLAY_RANGE_BIN_CAP : SH_REPLAY_RANGE_CAP;
                require(q.frame >= 0 && q.frame <= UINT32_MAX, "a start out of range");
                require(q.count >= 1 && q.count <= cap, "a count past the cap");
                require(query != NULL && strstr(query, "start=") && strstr(query, "count="),
                        "a range without its args");
            }
            break;
        default:
            require(q.status == 0, "a route without numbers rejected a number");
            break;
    }
    free(text);
    return 0;
}
