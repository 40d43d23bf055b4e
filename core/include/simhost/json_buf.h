#pragma once
// A growable byte buffer for the JSON documents built in C (HTTP replies, the replay API, exports):
// reset by setting len = 0, append, read data/len. One writer for JSON strings and float numbers.
// Audience: net (HTTP, replay routes) and host (recordings export).

#include "simhost/base.h"

typedef struct sh_buf
{
    char* data;
    size_t len, cap;
    bool failed; // an allocation failed; the content is incomplete
} sh_buf;

void sh_buf_free(sh_buf* b);
void sh_buf_append(sh_buf* b, const char* s, size_t n);
void sh_buf_puts(sh_buf* b, const char* s);
void sh_buf_printf(sh_buf* b, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
// A JSON string literal (quotes included), escaping control characters, '"' and '\\'.
void sh_buf_json_string(sh_buf* b, const char* s);
// A float32 value as a JSON number (its shortest round-trip text); non-finite values become 0 (no NaN ever
// leaves the host).
void sh_buf_json_number(sh_buf* b, double v);
// A double as a JSON number that reads back as the same double (17 significant digits; energies, times):
// a float32 text would round J-sized energies by 1e-5 J. Non-finite values become 0.
void sh_buf_json_double(sh_buf* b, double v);
