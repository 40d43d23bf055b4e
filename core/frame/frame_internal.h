#pragma once
// What the SHF1 encoder and decoder share: the header's field offsets and little-endian loads/stores.
// The frame is little-endian by contract and these are plain memcpy, so a big-endian host would need byte
// swaps here (and only here).

#include "simhost/frame.h"

#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the SHF1 codec is written for little-endian hosts"
#endif

enum
{
    SHF_OFF_MAGIC = 0,
    SHF_OFF_VERSION = 4,
    SHF_OFF_HEADER_BYTES = 6,
    SHF_OFF_FRAME_ID = 8,
    SHF_OFF_BODY_COUNT = 12,
    SHF_OFF_TIME = 16,
    SHF_OFF_CONTACT_COUNT = 24,
    SHF_OFF_FLAGS = 28,
    SHF_OFF_BLOCKS = 32, // u32[6]: ids, pose, body flags, velocities, contacts, solver
    SHF_OFF_TOTAL = 56,
    SHF_OFF_FRICTION = 60, // the friction block's offset: the word was reserved (0) before bit 3
};

enum
{
    SHF_BLOCK_IDS,
    SHF_BLOCK_POSE,
    SHF_BLOCK_BODY_FLAGS,
    SHF_BLOCK_VELOCITIES,
    SHF_BLOCK_CONTACTS,
    SHF_BLOCK_SOLVER,
    SHF_BLOCK_FRICTION,
    SHF_BLOCK_COUNT
};

#define SHF_POSE_FLOATS     7
#define SHF_VELOCITY_FLOATS 6
#define SHF_FRICTION_FLOATS 3

// Where block b's offset lives in the header: the six at 32, the friction block's at 60 (after the total).
static inline size_t shf_block_field(int b)
{
    return b == SHF_BLOCK_FRICTION ? (size_t)SHF_OFF_FRICTION : (size_t)SHF_OFF_BLOCKS + 4 * (size_t)b;
}

static inline uint64_t shf_pad8(uint64_t n)
{
    return (n + 7) & ~(uint64_t)7;
}

static inline void shf_put_u16(uint8_t* p, uint16_t v)
{
    memcpy(p, &v, sizeof v);
}
static inline void shf_put_u32(uint8_t* p, uint32_t v)
{
    memcpy(p, &v, sizeof v);
}
static inline void shf_put_f32(uint8_t* p, float v)
{
    memcpy(p, &v, sizeof v);
}
static inline void shf_put_f64(uint8_t* p, double v)
{
    memcpy(p, &v, sizeof v);
}
static inline uint16_t shf_u16(const uint8_t* p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline uint32_t shf_u32(const uint8_t* p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline float shf_f32(const uint8_t* p)
{
    float v;
    memcpy(&v, p, sizeof v);
    return v;
}
static inline double shf_f64(const uint8_t* p)
{
    double v;
    memcpy(&v, p, sizeof v);
    return v;
}

// True when none of the count float32 values at p is an infinity or a NaN (all-ones exponent): a plain
// loop over the bit patterns, which the compiler vectorises.
static inline bool shf_all_finite(const uint8_t* p, size_t count)
{
    uint32_t bad = 0;
    for (size_t i = 0; i < count; i++)
        bad |= (uint32_t)((shf_u32(p + 4 * i) & 0x7f800000u) == 0x7f800000u);
    return bad == 0;
}
