// Bytes -> the SHF1 decoder (sh_frame_decode, core/frame/frame_decode.c), then every accessor over what it
// accepted. Oracle: an accepted frame lies within the bytes (total_bytes <= len, every block inside) and
// its bodies and contacts read back without touching anything past len (ASan watches: libFuzzer's input
// is an exact-size heap copy).
#include "simhost/frame.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static void require(int ok, const char* what)
{
    if (!ok)
    {
        fprintf(stderr, "fuzz_frame_decode: %s\n", what);
        abort();
    }
}

static void inside(const uint8_t* p, const uint8_t* data, size_t size)
{
    require(p == NULL || (p >= data && p <= data + size), "a block outside the bytes");
}

int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size)
{
    sh_frame_view v;
    sh_error err = {0};
    if (!sh_frame_decode(data, size, &v, &err))
    {
        require(err.message[0] != '\0', "a rejection without a message");
        return 0;
    }
    require(v.total_bytes <= size, "total_bytes past the input");
    const uint8_t* blocks[] = {v.ids, v.pose, v.body_flags, v.velocities, v.contacts, v.solver, v.friction};
    for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++)
        inside(blocks[i], data, size);
    float sum = 0;
    for (uint32_t i = 0; i < v.body_count; i++)
    {
        sh_frame_body b;
        sh_frame_body_at(&v, i, &b);
        sum += b.position[0] + b.orientation[3];
    }
    for (uint32_t i = 0; i < v.contact_count; i++)
    {
        sh_frame_contact c;
        sh_frame_contact_at(&v, i, &c);
        sum += c.depth + c.friction[0];
    }
    sh_frame_solver s;
    if (sh_frame_solver_get(&v, &s))
        sum += s.residual;
    volatile float keep = sum; // the reads must happen
    (void)keep;
    return 0;
}
