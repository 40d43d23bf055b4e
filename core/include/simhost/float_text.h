#pragma once
// Shortest round-trip text for float32 values: the JSON frame writer's number printer (docs/protocol.md).
//
// Audience: the bindings' JSON writers (frames, metadata), core/net's JSON, bench-frames, the specs.

#include "simhost/base.h"

// Room for the longest text ("-0.000123456789", 15 characters) and its NUL, and for the fixed-size copies
// the writer makes past the text's end.
#define SH_F32_TEXT_MAX 32

// Writes into out (NUL-terminated) the decimal with the fewest significant digits that reads back as
// exactly v, both with strtof and with strtod followed by a float conversion (the page's JSON.parse and
// Float32Array) — so it is a JSON number meaning the same float as "%.9g" but usually shorter and
// without snprintf. -0 prints "-0". Non-finite values print "0": JSON has no NaN (the binary encoder
// refuses them instead). Returns the length written.
int sh_f32_text(float v, char* out);
