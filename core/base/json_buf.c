// A growable byte buffer for the small JSON documents built in C (HTTP responses). Frames are
// encoded by the world (bindings); this is only for the host's own replies.
#include "simhost/json_buf.h"

#include "simhost/float_text.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void sh_buf_free(sh_buf* b)
{
    sh_free(b->data, b->cap);
    *b = (sh_buf){0};
}

static bool reserve(sh_buf* b, size_t extra)
{
    if (b->failed)
        return false;
    if (b->len + extra + 1 <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra + 1)
        cap *= 2;
    char* p = sh_realloc(b->data, b->cap, cap);
    if (p == NULL)
    {
        b->failed = true;
        return false;
    }
    b->data = p;
    b->cap = cap;
    return true;
}

void sh_buf_append(sh_buf* b, const char* s, size_t n)
{
    if (!reserve(b, n))
        return;
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void sh_buf_puts(sh_buf* b, const char* s)
{
    sh_buf_append(b, s, strlen(s));
}

void sh_buf_printf(sh_buf* b, const char* fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static void put_to_buf(void* b, const char* bytes, size_t n)
{
    sh_buf_append(b, bytes, n);
}

void sh_buf_json_string(sh_buf* b, const char* s)
{
    sh_json_string(s, put_to_buf, b);
}

void sh_buf_json_number(sh_buf* b, double v)
{
    if (!isfinite(v))
        v = 0;
    // These numbers come from float32 blobs: the shortest text that reads back as the same float.
    char tmp[SH_F32_TEXT_MAX];
    sh_buf_append(b, tmp, (size_t)sh_f32_text((float)v, tmp));
}

void sh_buf_json_double(sh_buf* b, double v)
{
    sh_buf_printf(b, "%.17g", isfinite(v) ? v : 0.0);
}
