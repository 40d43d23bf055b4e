// The SHF1 encoder (docs/frames.md): one pass over the world into a buffer reused frame after frame. The
// body blocks are sized up front from the body count; the contact and friction blocks, whose point count
// is only known while walking the manifolds, follow (one walk, write_contacts), then the solver block.
#include "frame_internal.h"

#include <math.h>

void sh_frame_buf_free(sh_frame_buf* buf)
{
    if (buf == NULL)
        return;
    sh_free(buf->data, buf->cap);
    *buf = (sh_frame_buf){0};
}

sh_frame_opts sh_frame_opts_default(void)
{
    return (sh_frame_opts){.velocities = true, .contacts = true, .solver = true};
}

// Grows buf to hold need bytes; doubling from 4 KiB (a 60-body frame) keeps a live session at one or two
// allocations for its whole life.
static bool reserve(sh_frame_buf* buf, uint64_t need, sh_error* err)
{
    if (need <= buf->cap)
        return true;
    if (need > UINT32_MAX) // offsets and the total are u32
        return sh_error_set(err, "frame: %llu bytes do not fit a u32 length", (unsigned long long)need);
    size_t cap = buf->cap ? buf->cap : 4096;
    while (cap < need)
        cap *= 2;
    uint8_t* data = sh_realloc(buf->data, buf->cap, cap);
    if (data == NULL)
        return sh_error_set(err, "frame: out of memory for %llu bytes", (unsigned long long)need);
    buf->data = data;
    buf->cap = cap;
    return true;
}

typedef struct layout
{
    uint32_t offset[SHF_BLOCK_COUNT];
    uint32_t flags;
} layout;

// Offsets of the blocks whose size the body count fixes; returns where the contact block starts.
static uint64_t body_layout(uint32_t n, const sh_frame_opts* opts, layout* lay)
{
    uint64_t at = SH_FRAME_HEADER_BYTES;
    lay->offset[SHF_BLOCK_IDS] = (uint32_t)at;
    at += shf_pad8(4ull * n);
    lay->offset[SHF_BLOCK_POSE] = (uint32_t)at;
    at += shf_pad8(4ull * SHF_POSE_FLOATS * n);
    lay->offset[SHF_BLOCK_BODY_FLAGS] = (uint32_t)at;
    at += shf_pad8(n);
    if (opts->velocities)
    {
        lay->flags |= SH_FRAME_HAS_VELOCITIES;
        lay->offset[SHF_BLOCK_VELOCITIES] = (uint32_t)at;
        at += shf_pad8(4ull * SHF_VELOCITY_FLOATS * n);
    }
    return at;
}

static bool write_bodies(const sh_world* world, uint32_t n, const layout* lay, uint8_t* out, sh_error* err)
{
    uint8_t* ids = out + lay->offset[SHF_BLOCK_IDS];
    uint8_t* pose = out + lay->offset[SHF_BLOCK_POSE];
    uint8_t* flags = out + lay->offset[SHF_BLOCK_BODY_FLAGS];
    uint8_t* vel = lay->offset[SHF_BLOCK_VELOCITIES] ? out + lay->offset[SHF_BLOCK_VELOCITIES] : NULL;
    for (uint32_t i = 0; i < n; i++)
    {
        sh_body_id id = sh_world_body_at(world, (int)i);
        sh_body_state s;
        if (!sh_body_get_state(world, id, &s))
            return sh_error_set(err, "frame: body %u of %u has no state", i, n);
        int64_t wire_id = sh_body_id_to_int(id);
        if (wire_id > UINT32_MAX)
            return sh_error_set(err, "frame: body id %lld does not fit the frame's u32", (long long)wire_id);
        shf_put_u32(ids + 4 * i, (uint32_t)wire_id);
        memcpy(pose + 4 * SHF_POSE_FLOATS * i, s.position, 3 * sizeof(float));
        memcpy(pose + 4 * (SHF_POSE_FLOATS * i + 3), s.orientation, 4 * sizeof(float));
        flags[i] = (uint8_t)((s.is_static ? SH_FRAME_BODY_ENVIRONMENT : 0) |
                             (s.sleeping ? SH_FRAME_BODY_SLEEPING : 0));
        if (vel != NULL)
        {
            memcpy(vel + 4 * SHF_VELOCITY_FLOATS * i, s.velocity, 3 * sizeof(float));
            memcpy(vel + 4 * (SHF_VELOCITY_FLOATS * i + 3), s.angular_velocity, 3 * sizeof(float));
        }
    }
    if (!shf_all_finite(pose, (size_t)SHF_POSE_FLOATS * n) ||
        (vel != NULL && !shf_all_finite(vel, (size_t)SHF_VELOCITY_FLOATS * n)))
        return sh_error_set(err, "frame: a body's pose or velocity is not finite");
    return true;
}

static void put_contact_point(uint8_t* rec, uint32_t a, uint32_t b, const float normal[3],
                              const sh_contact_point_info* p)
{
    shf_put_u32(rec, a);
    shf_put_u32(rec + 4, b);
    for (int k = 0; k < 3; k++)
    {
        shf_put_f32(rec + 8 + 4 * k, 0.5f * (p->point_a[k] + p->point_b[k]));
        shf_put_f32(rec + 20 + 4 * k, normal[k]);
    }
    shf_put_f32(rec + 32, p->depth);
    shf_put_f32(rec + 36, p->normal_impulse);
    shf_put_f32(rec + 40, p->friction_impulse);
    shf_put_u32(rec + 44, 0);
}

// Appends the contact block (one 48-byte record per point) at buf->len and the friction block (f32[3] per
// point, in the records' order, padded to 8) after it, in one walk over the manifolds: room for 4 points
// per manifold is reserved for both, the friction vectors go to the far end of it as they come, and move
// down behind the records at the end. Walking twice (the friction block's offset needs the point count)
// copied every manifold out of the world twice, half the encoder's time for 800 points.
// Points per manifold (sh_contact_info's array): 4.
#define SHF_MAX_POINTS ((int)(sizeof(((sh_contact_info*)NULL)->points) / sizeof(sh_contact_point_info)))

static bool write_contacts(const sh_world* world, sh_frame_buf* buf, uint32_t* count, uint32_t* friction_at,
                           sh_error* err)
{
    int manifolds = sh_world_contact_count(world);
    uint64_t most = (uint64_t)SHF_MAX_POINTS * (uint64_t)manifolds;
    uint64_t far = (uint64_t)SH_FRAME_CONTACT_BYTES * most; // the friction vectors' scratch, from the start
    if (!reserve(buf, buf->len + far + shf_pad8((uint64_t)SH_FRAME_FRICTION_BYTES * most), err))
        return false;
    uint8_t* records = buf->data + buf->len;
    uint8_t* friction = records + far;
    uint32_t points = 0;
    for (int i = 0; i < manifolds; i++)
    {
        sh_contact_info c;
        if (!sh_world_contact_at(world, i, &c))
            return sh_error_set(err, "frame: contact %d of %d is missing", i, manifolds);
        int64_t a = sh_body_id_to_int(c.body_a), b = sh_body_id_to_int(c.body_b);
        if (a > UINT32_MAX || b > UINT32_MAX)
            return sh_error_set(err, "frame: a contact's body id does not fit the frame's u32");
        for (int j = 0; j < c.point_count && j < SHF_MAX_POINTS; j++, points++)
        {
            put_contact_point(records + (size_t)SH_FRAME_CONTACT_BYTES * points, (uint32_t)a, (uint32_t)b,
                              c.normal, &c.points[j]);
            memcpy(friction + (size_t)SH_FRAME_FRICTION_BYTES * points, c.points[j].friction_impulse_vector,
                   SH_FRAME_FRICTION_BYTES);
        }
    }
    for (uint32_t i = 0; i < points; i++)
        if (!shf_all_finite(records + (size_t)SH_FRAME_CONTACT_BYTES * i + 8, 9))
            return sh_error_set(err, "frame: contact point %u is not finite", i);
    if (!shf_all_finite(friction, (size_t)SHF_FRICTION_FLOATS * points))
        return sh_error_set(err, "frame: a contact point's friction vector is not finite");
    // 48 is a multiple of 8, so the friction block starts 8-aligned right after the records.
    size_t record_bytes = (size_t)SH_FRAME_CONTACT_BYTES * points,
           friction_bytes = (size_t)SH_FRAME_FRICTION_BYTES * points;
    memmove(records + record_bytes, friction, friction_bytes);
    size_t padded = (size_t)shf_pad8(friction_bytes);
    memset(records + record_bytes + friction_bytes, 0, padded - friction_bytes);
    *friction_at = (uint32_t)(buf->len + record_bytes);
    buf->len += record_bytes + padded;
    *count = points;
    return true;
}

static bool write_solver(const sh_world_stats* st, sh_frame_buf* buf, sh_error* err)
{
    if (!isfinite(st->residual))
        return sh_error_set(err, "frame: the solver residual is not finite");
    if (!reserve(buf, buf->len + SH_FRAME_SOLVER_BYTES, err))
        return false;
    uint8_t* p = buf->data + buf->len;
    shf_put_u32(p, (uint32_t)st->iterations);
    shf_put_f32(p + 4, st->residual);
    shf_put_u32(p + 8, st->converged ? 1u : 0u);
    shf_put_u32(p + 12, (uint32_t)st->num_constraints);
    shf_put_u32(p + 16, (uint32_t)st->num_points);
    shf_put_u32(p + 20, 0);
    buf->len += SH_FRAME_SOLVER_BYTES;
    return true;
}

static void write_header(uint8_t* p, uint32_t frame_id, uint32_t n, double t, uint32_t contacts,
                         const layout* lay, uint32_t total)
{
    memcpy(p + SHF_OFF_MAGIC, SH_FRAME_MAGIC, 4);
    shf_put_u16(p + SHF_OFF_VERSION, SH_FRAME_VERSION);
    shf_put_u16(p + SHF_OFF_HEADER_BYTES, SH_FRAME_HEADER_BYTES);
    shf_put_u32(p + SHF_OFF_FRAME_ID, frame_id);
    shf_put_u32(p + SHF_OFF_BODY_COUNT, n);
    shf_put_f64(p + SHF_OFF_TIME, t);
    shf_put_u32(p + SHF_OFF_CONTACT_COUNT, contacts);
    shf_put_u32(p + SHF_OFF_FLAGS, lay->flags);
    for (int b = 0; b < SHF_BLOCK_COUNT; b++)
        shf_put_u32(p + shf_block_field(b), lay->offset[b]);
    shf_put_u32(p + SHF_OFF_TOTAL, total);
}

static bool encode(const sh_world* world, uint32_t frame_id, double simulation_time,
                   const sh_frame_opts* opts, sh_frame_buf* buf, sh_error* err)
{
    if (!isfinite(simulation_time))
        return sh_error_set(err, "frame: simulation_time is not finite");
    uint32_t n = (uint32_t)sh_world_body_count(world);
    layout lay = {0};
    uint64_t bodies_end = body_layout(n, opts, &lay);
    if (!reserve(buf, bodies_end, err))
        return false;
    // Padding bytes are zeroed so equal worlds give equal bytes (recordings compare and compress them).
    memset(buf->data, 0, (size_t)bodies_end);
    if (!write_bodies(world, n, &lay, buf->data, err))
        return false;
    buf->len = (size_t)bodies_end;
    uint32_t contacts = 0;
    if (opts->contacts)
    {
        lay.flags |= SH_FRAME_HAS_CONTACTS | SH_FRAME_HAS_FRICTION;
        lay.offset[SHF_BLOCK_CONTACTS] = (uint32_t)buf->len;
        if (!write_contacts(world, buf, &contacts, &lay.offset[SHF_BLOCK_FRICTION], err))
            return false;
    }
    sh_world_stats st;
    sh_world_get_stats(world, &st);
    if (opts->solver && st.num_constraints > 0) // as the JSON frame's solver is null otherwise
    {
        lay.flags |= SH_FRAME_HAS_SOLVER;
        lay.offset[SHF_BLOCK_SOLVER] = (uint32_t)buf->len;
        if (!write_solver(&st, buf, err))
            return false;
    }
    write_header(buf->data, frame_id, n, simulation_time, contacts, &lay, (uint32_t)buf->len);
    return true;
}

bool sh_frame_encode(const sh_world* world, uint32_t frame_id, double simulation_time,
                     const sh_frame_opts* opts, sh_frame_buf* buf, sh_error* err)
{
    sh_frame_opts defaults = sh_frame_opts_default();
    buf->len = 0;
    if (encode(world, frame_id, simulation_time, opts ? opts : &defaults, buf, err))
        return true;
    buf->len = 0; // never half a frame
    return false;
}
