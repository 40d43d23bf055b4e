#pragma once
// Little-endian float32 / uint32 blob fields (docs/assets.md lists each blob byte by byte). Written byte
// by byte so the DB reads the same on any host, whatever its endianness.

#include <stdint.h>

void sh_blob_put_f32(uint8_t* p, float v);
float sh_blob_get_f32(const uint8_t* p);
void sh_blob_put_u32(uint8_t* p, uint32_t v);
uint32_t sh_blob_get_u32(const uint8_t* p);
