// The JSON string escaper (base.h), shared by every writer of JSON text.
#include "simhost/base.h"

#include <stdio.h>

void sh_json_string(const char* s, void (*put)(void* ctx, const char* bytes, size_t n), void* ctx)
{
    put(ctx, "\"", 1);
    const char* run = s; // start of the bytes not yet written, passed through in one put
    const char* p = s;
    for (; *p; p++)
    {
        unsigned char c = (unsigned char)*p;
        if (c != '"' && c != '\\' && c >= 0x20)
            continue;
        if (p > run)
            put(ctx, run, (size_t)(p - run));
        char esc[8] = {'\\', (char)c};
        size_t n = 2;
        if (c < 0x20)
            n = (size_t)snprintf(esc, sizeof esc, "\\u%04x", c);
        put(ctx, esc, n);
        run = p + 1;
    }
    if (p > run)
        put(ctx, run, (size_t)(p - run));
    put(ctx, "\"", 1);
}
