// Reads of a world's state for recordings (simhost/world_snapshot.h): mass distributions, the energy
// split, and the snapshot (everything that determines the next step, as bytes). Its reader is
// world_restore.c; both stay away from the solver's files.
#include "simhost/world_snapshot.h"

#include "snapshot_format.h"
#include "world.h"

#include <cglm/cglm.h>
#include <string.h>

bool sh_body_get_inertia(const sh_world* w, sh_body_id id, float local_center[3], float inertia[9])
{
    if (!sh_body_is_valid(w, id))
        return false;
    const sh_body* b = &w->bodies.data[id.index];
    memcpy(local_center, b->local_center, sizeof(float) * 3);
    // cglm's mat3 is column-major; the inertia tensor is symmetric, so rows and columns agree.
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 3; c++)
            inertia[3 * r + c] = b->is_static ? 0.0f : b->inertia_local[c][r];
    return true;
}

void sh_world_energy_parts(const sh_world* w, sh_energy_parts* out)
{
    double g = glm_vec3_norm((float*)w->def.gravity);
    double lin = 0.0, rot = 0.0, pe = 0.0;
    for (int i = 1; i < w->bodies.count; i++)
    {
        const sh_body* b = &w->bodies.data[i];
        if (!b->in_use || b->is_static)
            continue;
        // ½ ωᵀ I_w ω with I_w ω = R I (Rᵀ ω).
        versor qc;
        vec3 wb, iw;
        glm_quat_conjugate((float*)b->xf.q, qc);
        glm_quat_rotatev(qc, (float*)b->w, wb);
        glm_mat3_mulv((vec3*)b->inertia_local, wb, iw);
        lin += 0.5 * b->mass * glm_vec3_norm2((float*)b->v);
        rot += 0.5 * (double)glm_vec3_dot(wb, iw);
        pe += b->mass * g * b->xf.p[2];
    }
    out->linear = lin;
    out->rotational = rot;
    out->potential = pe;
}

// --- snapshot: the world's whole state as bytes ----------------------------------------------------

typedef struct writer
{
    unsigned char* data;
    size_t used, capacity;
    bool failed;
} writer;

static void put(writer* o, const void* p, size_t n)
{
    if (o->failed || n == 0) // n == 0: p may be NULL (an empty free list), which memcpy must not see
        return;
    if (o->used + n > o->capacity)
    {
        size_t cap = o->capacity ? o->capacity : 4096;
        while (cap < o->used + n)
            cap *= 2;
        unsigned char* d = sh_realloc(o->data, o->capacity, cap);
        if (d == NULL)
        {
            o->failed = true;
            return;
        }
        o->data = d;
        o->capacity = cap;
    }
    memcpy(o->data + o->used, p, n);
    o->used += n;
}

// The host is little-endian (x86-64, arm64), so a scalar's memory is its little-endian bytes.
static void put_u8(writer* o, uint8_t v)
{
    put(o, &v, 1);
}
static void put_u16(writer* o, uint16_t v)
{
    put(o, &v, 2);
}
static void put_i32(writer* o, int32_t v)
{
    put(o, &v, 4);
}
static void put_u32(writer* o, uint32_t v)
{
    put(o, &v, 4);
}
static void put_u64(writer* o, uint64_t v)
{
    put(o, &v, 8);
}
static void put_f64(writer* o, double v)
{
    put(o, &v, 8);
}
static void put_floats(writer* o, const float* v, int n)
{
    put(o, v, (size_t)n * sizeof *v);
}
static void put_ints(writer* o, const int* v, int n)
{
    put_i32(o, n);
    put(o, v, (size_t)n * sizeof *v);
}

static void put_pool(writer* o, const sh_id_pool* p)
{
    put_i32(o, p->next);
    put_ints(o, p->free_ids, p->free_count);
}

static void put_hull(writer* o, const sh_hull* h)
{
    put_i32(o, h->vertex_count);
    put_i32(o, h->face_count);
    put_i32(o, h->edge_count);
    put_i32(o, h->index_count);
    put_floats(o, &h->vertices[0][0], 3 * h->vertex_count);
    for (int i = 0; i < h->face_count; i++)
    {
        put_floats(o, h->faces[i].normal, 3);
        put_floats(o, &h->faces[i].offset, 1);
        put_u16(o, h->faces[i].first);
        put_u16(o, h->faces[i].count);
    }
    for (int i = 0; i < h->edge_count; i++)
    {
        const sh_hull_edge* e = &h->edges[i];
        put_u16(o, e->v0);
        put_u16(o, e->v1);
        put_u16(o, e->face_a);
        put_u16(o, e->face_b);
    }
    put(o, h->face_indices, (size_t)h->index_count * sizeof *h->face_indices);
    put_floats(o, &h->mass.volume, 1);
    put_floats(o, h->mass.centroid, 3);
    put_floats(o, &h->mass.inertia[0][0], 9);
    put_floats(o, h->aabb_min, 3);
    put_floats(o, h->aabb_max, 3);
}

static int shape_index(const sh_world* w, const sh_hull* h)
{
    for (int i = 0; i < w->shapes.count; i++)
        if (w->shapes.data[i].centred == h)
            return i;
    return -1;
}

static void put_body(writer* o, const sh_world* w, const sh_body* b)
{
    put_floats(o, b->xf.q, 4);
    put_floats(o, b->xf.p, 3);
    put_floats(o, b->local_center, 3);
    put_floats(o, b->v, 3);
    put_floats(o, b->w, 3);
    put_floats(o, &b->inertia_local[0][0], 9);
    put_floats(o, &b->inv_inertia_local[0][0], 9);
    const float scalars[5] = {b->mass, b->inv_mass, b->restitution, b->friction, b->extent};
    put_floats(o, scalars, 5);
    put_i32(o, shape_index(w, b->hull));
    put_floats(o, b->fat_box.lo, 3);
    put_floats(o, b->fat_box.hi, 3);
    put_i32(o, b->proxy);
    put_floats(o, &b->sleep_time, 1);
    put_i32(o, b->island_next);
    put_i32(o, b->sleep_island);
    put_i32(o, b->solver_index);
    put_u32(o, b->generation);
    put_u8(o, (uint8_t)(b->in_use | b->is_static << 1 | b->sleeping << 2 | b->isotropic << 3));
}

static void put_contact(writer* o, const sh_contact* c)
{
    put_i32(o, c->body_a);
    put_i32(o, c->body_b);
    put_u64(o, c->key);
    put_floats(o, c->manifold.normal, 3);
    put_i32(o, c->manifold.point_count);
    // Only the manifold's points are ever read (and warm starting reads only their states); the slots past
    // point_count hold whatever the narrow phase left there, so they are not stored (a restore zeroes them).
    // Most contacts of a resting lattice have no point: 13 000 pairs of 1000 cubes went 3.8 MB → 1.3 MB.
    for (int i = 0; i < c->manifold.point_count; i++)
    {
        const sh_manifold_point* p = &c->manifold.points[i];
        put_floats(o, p->point_a, 3);
        put_floats(o, p->point_b, 3);
        put_floats(o, &p->separation, 1);
        put_u32(o, p->id);
        const sh_contact_point_state* s = &c->state[i];
        put_u32(o, s->id);
        const float impulses[4] = {s->normal_impulse, s->tangent_impulse[0], s->tangent_impulse[1],
                                   s->max_normal_impulse};
        put_floats(o, impulses, 4);
    }
    const sh_sat_cache* k = &c->cache;
    put_u8(o, k->kind);
    put_u16(o, k->index_a);
    put_u16(o, k->index_b);
    put_floats(o, &k->separation, 1);
    put_u8(o, k->anchored);
    put_floats(o, k->anchor_q, 4);
    put_floats(o, k->anchor_p, 3);
    put_floats(o, &c->friction, 1);
    put_floats(o, &c->restitution, 1);
    put_i32(o, c->in_use);
    put_u8(o, (uint8_t)(c->touching | c->warm << 1));
    put_i32(o, c->constraint);
}

// Free nodes carry only their free-list link: the rest of a free node is never read (and may never have
// been written), so it is stored as zeros.
static void put_tree(writer* o, const sh_tree* t)
{
    put_i32(o, t->capacity);
    put_i32(o, t->root);
    put_i32(o, t->count);
    put_i32(o, t->free_list);
    for (int i = 0; i < t->capacity; i++)
    {
        sh_tree_node n = t->nodes[i];
        if (n.height < 0)
            n = (sh_tree_node){.parent = n.parent, .child1 = -1, .child2 = -1, .height = -1, .user = -1};
        put_floats(o, n.box.lo, 3);
        put_floats(o, n.box.hi, 3);
        const int32_t links[5] = {n.parent, n.child1, n.child2, n.height, n.user};
        put(o, links, sizeof links);
    }
}

static void put_world(writer* o, const sh_world* w)
{
    const sh_world_def* d = &w->def;
    put_floats(o, d->gravity, 3);
    put_i32(o, d->substeps);
    put_u8(o, d->enable_sleep);
    const float contact[4] = {d->contact_hertz, d->contact_damping_ratio, d->contact_push_max,
                              d->restitution_threshold};
    put_floats(o, contact, 4);
    put_f64(o, w->time);
    put_u64(o, w->step_index);
    const sh_world_stats* s = &w->stats;
    const int32_t counts[8] = {s->bodies,         s->awake_bodies, s->pairs,           s->contacts,
                               s->contact_points, s->iterations,   s->num_constraints, s->num_points};
    put(o, counts, sizeof counts);
    const double ms[4] = {s->collide_ms, s->solve_ms, s->sleep_ms, s->step_ms};
    put(o, ms, sizeof ms);
    put_floats(o, &s->residual, 1);
    put_u8(o, s->converged);

    put_i32(o, w->shapes.count);
    for (int i = 0; i < w->shapes.count; i++)
        put_hull(o, w->shapes.data[i].centred);
    put_i32(o, w->bodies.count);
    for (int i = 0; i < w->bodies.count; i++)
        put_body(o, w, &w->bodies.data[i]);
    put_pool(o, &w->body_pool);
    put_ints(o, w->order.data, w->order.count);
    put_i32(o, w->contacts.count);
    for (int i = 0; i < w->contacts.count; i++)
        put_contact(o, &w->contacts.data[i]);
    put_pool(o, &w->contact_pool);
    // The pair set as laid out (probe order is part of it); an empty slot's value is never read: 0.
    put_i32(o, w->pair_capacity);
    put_i32(o, w->pair_count);
    for (int i = 0; i < w->pair_capacity; i++)
    {
        put_u64(o, w->pair_keys[i]);
        put_i32(o, w->pair_keys[i] != 0 ? w->pair_values[i] : 0);
    }
    put_i32(o, w->islands.count);
    for (int i = 0; i < w->islands.count; i++)
    {
        put_i32(o, w->islands.data[i].head);
        put_i32(o, w->islands.data[i].count);
    }
    put_pool(o, &w->island_pool);
    put_tree(o, &w->bp.dynamic_tree);
    put_tree(o, &w->bp.static_tree);
    put_ints(o, w->bp.moved, w->bp.moved_count);
    put_ints(o, w->touching.data, w->touching.count);
}

// The blob's size for a world without manifold points, so the buffer is allocated once in the common case.
static size_t size_hint(const sh_world* w)
{
    size_t n = 512 + (size_t)w->bodies.count * 224 + (size_t)w->contacts.count * 96 +
               (size_t)w->pair_capacity * 12 +
               (size_t)(w->bp.dynamic_tree.capacity + w->bp.static_tree.capacity) * 44 +
               (size_t)(w->order.count + w->bp.moved_count + w->touching.count + w->body_pool.free_count +
                        w->contact_pool.free_count + w->island_pool.free_count + 2 * w->islands.count) *
                   4;
    for (int i = 0; i < w->shapes.count; i++)
        n += w->shapes.data[i].centred->bytes;
    return n + (size_t)w->touching.count * 4 * 52;
}

bool sh_world_snapshot(const sh_world* w, void** out, size_t* out_bytes, sh_error* err)
{
    *out = NULL;
    *out_bytes = 0;
    writer o = {0};
    o.capacity = size_hint(w);
    o.data = sh_alloc(o.capacity);
    if (o.data == NULL)
        return sh_error_set(err, "out of memory");
    put(&o, SH_SNAPSHOT_MAGIC, 4);
    put_u32(&o, SH_SNAPSHOT_VERSION);
    put_u64(&o, 0); // total bytes and hash, filled in below
    put_u64(&o, 0);
    put_world(&o, w);
    if (o.failed)
    {
        sh_free(o.data, o.capacity);
        return sh_error_set(err, "out of memory");
    }
    // Shrink to the exact size so the caller frees what it was given with sh_free(blob, bytes).
    unsigned char* blob = sh_realloc(o.data, o.capacity, o.used);
    if (blob == NULL)
    {
        sh_free(o.data, o.capacity);
        return sh_error_set(err, "out of memory");
    }
    uint64_t total = o.used, hash = sh_snapshot_hash(blob + SH_SNAPSHOT_HEADER, o.used - SH_SNAPSHOT_HEADER);
    memcpy(blob + 8, &total, 8);
    memcpy(blob + 16, &hash, 8);
    *out = blob;
    *out_bytes = o.used;
    return true;
}
