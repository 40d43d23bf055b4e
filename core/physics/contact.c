// Contacts: pair life (a pair set so the broad phase never duplicates one), the manifold update through
// the narrow phase once per step, and warm-start matching of impulses by feature id.
#include "world.h"

#include <math.h>
#include <string.h>

static uint64_t pair_key(int a, int b)
{
    uint32_t lo = (uint32_t)(a < b ? a : b), hi = (uint32_t)(a < b ? b : a);
    return (((uint64_t)lo << 32) | hi) + 1; // +1: 0 marks an empty slot
}

static uint32_t hash64(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    return (uint32_t)k;
}

static int find_slot(const sh_world* w, uint64_t key)
{
    if (w->pair_capacity == 0)
        return -1;
    uint32_t mask = (uint32_t)w->pair_capacity - 1;
    uint32_t i = hash64(key) & mask;
    while (w->pair_keys[i] != 0)
    {
        if (w->pair_keys[i] == key)
            return (int)i;
        i = (i + 1) & mask;
    }
    return -1;
}

bool sh_contact_pair_exists(const sh_world* w, int a, int b)
{
    return find_slot(w, pair_key(a, b)) >= 0;
}

static void insert_raw(uint64_t* keys, int* values, int capacity, uint64_t key, int value)
{
    uint32_t mask = (uint32_t)capacity - 1;
    uint32_t i = hash64(key) & mask;
    while (keys[i] != 0)
        i = (i + 1) & mask;
    keys[i] = key;
    values[i] = value;
}

static bool pair_insert(sh_world* w, uint64_t key, int value)
{
    if (2 * (w->pair_count + 1) > w->pair_capacity)
    {
        int cap = w->pair_capacity ? 2 * w->pair_capacity : 1024;
        uint64_t* keys = sh_alloc_zeroed((size_t)cap * sizeof *keys);
        int* values = sh_alloc((size_t)cap * sizeof *values);
        if (keys == NULL || values == NULL)
        {
            sh_free(keys, (size_t)cap * sizeof *keys);
            sh_free(values, (size_t)cap * sizeof *values);
            return false;
        }
        for (int i = 0; i < w->pair_capacity; i++)
            if (w->pair_keys[i] != 0)
                insert_raw(keys, values, cap, w->pair_keys[i], w->pair_values[i]);
        sh_free(w->pair_keys, (size_t)w->pair_capacity * sizeof *keys);
        sh_free(w->pair_values, (size_t)w->pair_capacity * sizeof *values);
        w->pair_keys = keys;
        w->pair_values = values;
        w->pair_capacity = cap;
    }
    insert_raw(w->pair_keys, w->pair_values, w->pair_capacity, key, value);
    w->pair_count++;
    return true;
}

static void pair_remove(sh_world* w, uint64_t key)
{
    int slot = find_slot(w, key);
    if (slot < 0)
        return;
    // Backward-shift deletion keeps linear probing correct without tombstones.
    uint32_t mask = (uint32_t)w->pair_capacity - 1;
    uint32_t i = (uint32_t)slot;
    uint32_t j = i;
    for (;;)
    {
        j = (j + 1) & mask;
        if (w->pair_keys[j] == 0)
            break;
        uint32_t home = hash64(w->pair_keys[j]) & mask;
        // Move j into the hole at i unless its home lies cyclically in (i, j].
        bool in_range = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (!in_range)
        {
            w->pair_keys[i] = w->pair_keys[j];
            w->pair_values[i] = w->pair_values[j];
            i = j;
        }
    }
    w->pair_keys[i] = 0;
    w->pair_count--;
}

// Combine rules (docs/physics.md): restitution = max, so an e = 1 floor gives an e = 1 bounce with any
// ball and a dead floor needs a dead ball too; friction = geometric mean, so ice (0) makes anything slide.
bool sh_contact_create(sh_world* w, int a, int b)
{
    if (a > b)
    {
        int t = a;
        a = b;
        b = t;
    }
    int c = sh_id_pool_alloc(&w->contact_pool);
    if (!SH_ARRAY_RESERVE(w->contacts, c + 1))
    {
        sh_id_pool_free(&w->contact_pool, c);
        return false;
    }
    while (w->contacts.count <= c)
    {
        memset(&w->contacts.data[w->contacts.count], 0, sizeof(sh_contact));
        w->contacts.count++;
    }
    uint64_t key = pair_key(a, b);
    if (!pair_insert(w, key, c))
    {
        sh_id_pool_free(&w->contact_pool, c);
        return false;
    }
    sh_contact* ct = &w->contacts.data[c];
    memset(ct, 0, sizeof *ct);
    ct->body_a = a;
    ct->body_b = b;
    ct->key = key;
    ct->in_use = 1;
    ct->constraint = -1;
    const sh_body* ba = &w->bodies.data[a];
    const sh_body* bb = &w->bodies.data[b];
    ct->friction = sqrtf(ba->friction * bb->friction);
    ct->restitution = ba->restitution > bb->restitution ? ba->restitution : bb->restitution;
    return true;
}

void sh_contact_destroy(sh_world* w, int c)
{
    sh_contact* ct = &w->contacts.data[c];
    pair_remove(w, ct->key);
    ct->in_use = 0;
    sh_id_pool_free(&w->contact_pool, c);
}

void sh_contacts_free(sh_world* w)
{
    sh_free(w->pair_keys, (size_t)w->pair_capacity * sizeof *w->pair_keys);
    sh_free(w->pair_values, (size_t)w->pair_capacity * sizeof *w->pair_values);
    w->pair_keys = NULL;
    w->pair_values = NULL;
    w->pair_capacity = w->pair_count = 0;
    SH_ARRAY_FREE(w->contacts);
    sh_id_pool_destroy(&w->contact_pool);
}

void sh_contact_update(sh_world* w, sh_contact* c, float dt)
{
    const sh_body* a = &w->bodies.data[c->body_a];
    const sh_body* b = &w->bodies.data[c->body_b];
    // Speculative distance: a margin plus how far the two can close in one step (relative linear speed and
    // each body's rim speed), so a contact exists before a fast body reaches a thin wall.
    vec3 dv;
    sub3(b->v, a->v, dv);
    float closing = norm3(dv) + norm3(a->w) * a->extent + norm3(b->w) * b->extent;
    float spec = SH_SPECULATIVE + closing * dt;
    sh_manifold m;
    int n = sh_collide_hulls(a->hull, &a->xf, b->hull, &b->xf, spec, &c->cache, &m);
    if (n < 0 || n > SH_MAX_MANIFOLD_POINTS)
        n = 0;
    m.point_count = n;
    sh_contact_point_state old[SH_MAX_MANIFOLD_POINTS];
    int old_count = c->manifold.point_count;
    memcpy(old, c->state, sizeof old);
    bool touching = false;
    c->warm = false;
    for (int i = 0; i < n; i++)
    {
        sh_contact_point_state* s = &c->state[i];
        memset(s, 0, sizeof *s);
        s->id = m.points[i].id;
        for (int j = 0; j < old_count; j++)
            if (old[j].id == s->id)
            {
                c->warm = true;
                s->normal_impulse = old[j].normal_impulse;
                s->tangent_impulse[0] = old[j].tangent_impulse[0];
                s->tangent_impulse[1] = old[j].tangent_impulse[1];
                break;
            }
        if (m.points[i].separation < SH_TOUCH_TOLERANCE)
            touching = true;
    }
    c->manifold = m;
    c->touching = touching;
}
