// Little-endian blob fields: see blob.h.
#include "blob.h"

#include <string.h>

void sh_blob_put_u32(uint8_t* p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

uint32_t sh_blob_get_u32(const uint8_t* p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void sh_blob_put_f32(uint8_t* p, float v)
{
    uint32_t bits;
    memcpy(&bits, &v, sizeof bits); // IEEE 754 binary32 bit pattern
    sh_blob_put_u32(p, bits);
}

float sh_blob_get_f32(const uint8_t* p)
{
    uint32_t bits = sh_blob_get_u32(p);
    float v;
    memcpy(&v, &bits, sizeof v);
    return v;
}
