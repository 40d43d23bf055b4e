// The SHF1 decoder (docs/frames.md): validates a frame against its length before anything points into
// it. Every header field, offset and size is checked with 64-bit arithmetic (a u32 count times a record
// size cannot wrap), blocks must not overlap the header or each other, and every float must be finite, so
// a truncated or lying frame is one error line and never a read past len.
#include "frame_internal.h"

#define KNOWN_FLAGS                                                                                          \
    (SH_FRAME_HAS_VELOCITIES | SH_FRAME_HAS_CONTACTS | SH_FRAME_HAS_SOLVER | SH_FRAME_HAS_FRICTION)
#define KNOWN_BODY_FLAGS (SH_FRAME_BODY_ENVIRONMENT | SH_FRAME_BODY_SLEEPING)

static const char* const block_names[SHF_BLOCK_COUNT] = {"ids",      "pose",   "body flags", "velocities",
                                                         "contacts", "solver", "friction"};

typedef struct block
{
    uint64_t offset, size;
    bool present;
} block;

static bool check_header(const uint8_t* p, size_t len, sh_frame_view* out, sh_error* err)
{
    if (len < 8)
        return sh_error_set(err, "frame: %zu bytes, shorter than the 64-byte header", len);
    if (memcmp(p + SHF_OFF_MAGIC, SH_FRAME_MAGIC, 4) != 0)
        return sh_error_set(err, "frame: bad magic (not an SHF1 frame)");
    out->version = shf_u16(p + SHF_OFF_VERSION);
    if (out->version != SH_FRAME_VERSION)
        return sh_error_set(err, "frame: version %u is not supported (this reader knows %d)", out->version,
                            SH_FRAME_VERSION);
    uint16_t header = shf_u16(p + SHF_OFF_HEADER_BYTES);
    if (header < SH_FRAME_HEADER_BYTES || header % 8 != 0)
        return sh_error_set(err, "frame: header size %u (must be >= 64 and a multiple of 8)", header);
    if (len < header)
        return sh_error_set(err, "frame: %zu bytes, shorter than its %u-byte header", len, header);
    out->total_bytes = shf_u32(p + SHF_OFF_TOTAL);
    if (out->total_bytes != len)
        return sh_error_set(err, "frame: header says %u bytes, the message has %zu", out->total_bytes, len);
    out->frame_id = shf_u32(p + SHF_OFF_FRAME_ID);
    out->body_count = shf_u32(p + SHF_OFF_BODY_COUNT);
    out->simulation_time = shf_f64(p + SHF_OFF_TIME);
    out->contact_count = shf_u32(p + SHF_OFF_CONTACT_COUNT);
    out->flags = shf_u32(p + SHF_OFF_FLAGS);
    if (out->flags & ~(uint32_t)KNOWN_FLAGS)
        return sh_error_set(err, "frame: unknown flags 0x%x", out->flags);
    if (!(out->simulation_time >= 0.0 && out->simulation_time <= 1e12))
        return sh_error_set(err, "frame: simulation_time is not a finite number >= 0");
    if (!(out->flags & SH_FRAME_HAS_CONTACTS) && out->contact_count != 0)
        return sh_error_set(err, "frame: %u contact points but no contacts block", out->contact_count);
    if ((out->flags & SH_FRAME_HAS_FRICTION) && !(out->flags & SH_FRAME_HAS_CONTACTS))
        return sh_error_set(err, "frame: a friction block (flag bit 3) without a contacts block");
    return true;
}

static void block_sizes(const sh_frame_view* v, block b[SHF_BLOCK_COUNT])
{
    uint64_t n = v->body_count;
    b[SHF_BLOCK_IDS] = (block){0, 4 * n, true};
    b[SHF_BLOCK_POSE] = (block){0, 4 * SHF_POSE_FLOATS * n, true};
    b[SHF_BLOCK_BODY_FLAGS] = (block){0, n, true};
    b[SHF_BLOCK_VELOCITIES] =
        (block){0, 4 * SHF_VELOCITY_FLOATS * n, (v->flags & SH_FRAME_HAS_VELOCITIES) != 0};
    b[SHF_BLOCK_CONTACTS] = (block){0, (uint64_t)SH_FRAME_CONTACT_BYTES * v->contact_count,
                                    (v->flags & SH_FRAME_HAS_CONTACTS) != 0};
    b[SHF_BLOCK_SOLVER] = (block){0, SH_FRAME_SOLVER_BYTES, (v->flags & SH_FRAME_HAS_SOLVER) != 0};
    b[SHF_BLOCK_FRICTION] = (block){0, (uint64_t)SH_FRAME_FRICTION_BYTES * v->contact_count,
                                    (v->flags & SH_FRAME_HAS_FRICTION) != 0};
}

// Each present block lies inside [header, len), 8-aligned; absent blocks have offset 0; none overlap.
static bool check_blocks(const uint8_t* p, size_t len, block b[SHF_BLOCK_COUNT], sh_error* err)
{
    uint16_t header = shf_u16(p + SHF_OFF_HEADER_BYTES);
    for (int i = 0; i < SHF_BLOCK_COUNT; i++)
    {
        b[i].offset = shf_u32(p + shf_block_field(i));
        if (!b[i].present)
        {
            if (b[i].offset != 0)
                return sh_error_set(err, "frame: %s block at %llu but its flag is clear", block_names[i],
                                    (unsigned long long)b[i].offset);
            continue;
        }
        if (b[i].offset < header || b[i].offset % 8 != 0)
            return sh_error_set(err, "frame: %s block offset %llu (must be >= %u and a multiple of 8)",
                                block_names[i], (unsigned long long)b[i].offset, header);
        if (b[i].offset + b[i].size > len)
            return sh_error_set(err, "frame: %s block (%llu bytes at %llu) runs past the frame's %zu bytes",
                                block_names[i], (unsigned long long)b[i].size,
                                (unsigned long long)b[i].offset, len);
    }
    for (int i = 0; i < SHF_BLOCK_COUNT; i++)
        for (int j = i + 1; j < SHF_BLOCK_COUNT; j++)
            if (b[i].present && b[j].present && b[i].offset < b[j].offset + b[j].size &&
                b[j].offset < b[i].offset + b[i].size)
                return sh_error_set(err, "frame: the %s and %s blocks overlap", block_names[i],
                                    block_names[j]);
    return true;
}

// The values themselves: finite floats, known body flag bits, a 0/1 converged.
static bool check_values(const sh_frame_view* v, sh_error* err)
{
    if (!shf_all_finite(v->pose, (size_t)SHF_POSE_FLOATS * v->body_count))
        return sh_error_set(err, "frame: a pose value is not finite");
    if (v->velocities && !shf_all_finite(v->velocities, (size_t)SHF_VELOCITY_FLOATS * v->body_count))
        return sh_error_set(err, "frame: a velocity value is not finite");
    uint8_t flag_bits = 0;
    for (uint32_t i = 0; i < v->body_count; i++)
        flag_bits |= v->body_flags[i];
    if (flag_bits & (uint8_t)~KNOWN_BODY_FLAGS)
        return sh_error_set(err, "frame: unknown body flag bits 0x%x", flag_bits);
    for (uint32_t i = 0; i < v->contact_count; i++)
        if (!shf_all_finite(v->contacts + (size_t)SH_FRAME_CONTACT_BYTES * i + 8, 9))
            return sh_error_set(err, "frame: contact point %u has a value that is not finite", i);
    if (v->friction && !shf_all_finite(v->friction, (size_t)SHF_FRICTION_FLOATS * v->contact_count))
        return sh_error_set(err, "frame: a contact point's friction vector is not finite");
    if (v->solver)
    {
        if (!shf_all_finite(v->solver + 4, 1))
            return sh_error_set(err, "frame: the solver residual is not finite");
        if (shf_u32(v->solver + 8) > 1)
            return sh_error_set(err, "frame: solver converged is %u (must be 0 or 1)",
                                shf_u32(v->solver + 8));
    }
    return true;
}

bool sh_frame_decode(const uint8_t* bytes, size_t len, sh_frame_view* out, sh_error* err)
{
    sh_frame_view v = {0};
    block b[SHF_BLOCK_COUNT];
    if (bytes == NULL)
        return sh_error_set(err, "frame: no bytes");
    if (!check_header(bytes, len, &v, err))
        return false;
    block_sizes(&v, b);
    if (!check_blocks(bytes, len, b, err))
        return false;
    const uint8_t** ptr[SHF_BLOCK_COUNT] = {&v.ids,      &v.pose,   &v.body_flags, &v.velocities,
                                            &v.contacts, &v.solver, &v.friction};
    for (int i = 0; i < SHF_BLOCK_COUNT; i++)
        *ptr[i] = b[i].present ? bytes + b[i].offset : NULL;
    if (!check_values(&v, err))
        return false;
    *out = v;
    return true;
}

void sh_frame_body_at(const sh_frame_view* v, uint32_t i, sh_frame_body* out)
{
    const uint8_t* pose = v->pose + 4 * (size_t)SHF_POSE_FLOATS * i;
    out->id = shf_u32(v->ids + 4 * (size_t)i);
    for (int k = 0; k < 3; k++)
        out->position[k] = shf_f32(pose + 4 * k);
    for (int k = 0; k < 4; k++)
        out->orientation[k] = shf_f32(pose + 12 + 4 * k);
    const uint8_t* vel = v->velocities ? v->velocities + 4 * (size_t)SHF_VELOCITY_FLOATS * i : NULL;
    for (int k = 0; k < 3; k++)
    {
        out->velocity[k] = vel ? shf_f32(vel + 4 * k) : 0.0f;
        out->angular_velocity[k] = vel ? shf_f32(vel + 12 + 4 * k) : 0.0f;
    }
    out->environment = (v->body_flags[i] & SH_FRAME_BODY_ENVIRONMENT) != 0;
    out->sleeping = (v->body_flags[i] & SH_FRAME_BODY_SLEEPING) != 0;
}

void sh_frame_contact_at(const sh_frame_view* v, uint32_t i, sh_frame_contact* out)
{
    const uint8_t* rec = v->contacts + (size_t)SH_FRAME_CONTACT_BYTES * i;
    out->body_a = shf_u32(rec);
    out->body_b = shf_u32(rec + 4);
    for (int k = 0; k < 3; k++)
    {
        out->point[k] = shf_f32(rec + 8 + 4 * k);
        out->normal[k] = shf_f32(rec + 20 + 4 * k);
    }
    out->depth = shf_f32(rec + 32);
    out->normal_impulse = shf_f32(rec + 36);
    out->friction_impulse = shf_f32(rec + 40);
    const uint8_t* fv = v->friction ? v->friction + (size_t)SH_FRAME_FRICTION_BYTES * i : NULL;
    for (int k = 0; k < 3; k++)
        out->friction[k] = fv ? shf_f32(fv + 4 * k) : 0.0f;
}

bool sh_frame_solver_get(const sh_frame_view* v, sh_frame_solver* out)
{
    if (v->solver == NULL)
        return false;
    out->iterations = shf_u32(v->solver);
    out->residual = shf_f32(v->solver + 4);
    out->converged = shf_u32(v->solver + 8);
    out->constraints = shf_u32(v->solver + 12);
    out->contacts = shf_u32(v->solver + 16);
    return true;
}
