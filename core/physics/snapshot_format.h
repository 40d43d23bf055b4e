#pragma once
// The world snapshot's byte layout, shared by its writer (world_snapshot.c) and its reader
// (world_restore.c). Little-endian, field by field (never a struct's memory image, so padding and
// bools never reach the blob and a build with another struct layout still reads it).
//
// header: "SHWS", u32 version, u64 total bytes (header included), u64 hash of the bytes after the header
// then, in this order: def, clock, stats, shapes (centred hulls), bodies, body pool, order, contacts,
// contact pool, pair set, islands, island pool, both broad-phase trees, move buffer, touching list.

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SH_SNAPSHOT_MAGIC   "SHWS"
#define SH_SNAPSHOT_VERSION 1u
#define SH_SNAPSHOT_HEADER  24

// FNV-1a over 8-byte words (then the tail bytes), with a shift folded in so high bits reach the low ones:
// a corrupt blob fails it, and it runs at word speed (byte-wise FNV-1a took 4 ms of a 3.8 MB snapshot).
static inline uint64_t sh_snapshot_hash(const unsigned char* p, size_t n)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
    {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x100000001b3ULL;
        h ^= h >> 32;
    }
    for (; i < n; i++)
        h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}
