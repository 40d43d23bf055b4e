// Restoring a world from a snapshot (simhost/world_snapshot.h; layout in snapshot_format.h). The blob is
// read into a fresh world, every count is checked against the bytes left before anything is allocated,
// every index is checked against what it indexes, and only a world that passed replaces the caller's.
#include "snapshot_format.h"
#include "world.h"

#include "simhost/world_snapshot.h"

#include <string.h>

typedef struct reader
{
    const unsigned char *p, *end;
    const char* bad; // the first thing found wrong, NULL while all is well
} reader;

static bool fail(reader* r, const char* why)
{
    if (r->bad == NULL)
        r->bad = why;
    return false;
}

static bool take(reader* r, void* out, size_t n)
{
    if (r->bad != NULL || (size_t)(r->end - r->p) < n)
    {
        memset(out, 0, n);
        return fail(r, "snapshot is truncated");
    }
    if (n > 0)
        memcpy(out, r->p, n);
    r->p += n;
    return true;
}

static uint8_t get_u8(reader* r)
{
    uint8_t v;
    take(r, &v, 1);
    return v;
}
static uint16_t get_u16(reader* r)
{
    uint16_t v;
    take(r, &v, 2);
    return v;
}
static int32_t get_i32(reader* r)
{
    int32_t v;
    take(r, &v, 4);
    return v;
}
static uint32_t get_u32(reader* r)
{
    uint32_t v;
    take(r, &v, 4);
    return v;
}
static uint64_t get_u64(reader* r)
{
    uint64_t v;
    take(r, &v, 8);
    return v;
}
static void get_floats(reader* r, float* v, int n)
{
    take(r, v, (size_t)n * sizeof *v);
}

// A count of records of at least min_bytes each: never more than the bytes left could hold, so a lying
// count fails here instead of allocating gigabytes.
static int get_count(reader* r, size_t min_bytes)
{
    int32_t n = get_i32(r);
    if (n < 0 || (size_t)n > (size_t)(r->end - r->p) / min_bytes)
        return fail(r, "snapshot holds a count larger than its bytes"), 0;
    return n;
}

static bool in_range(reader* r, int v, int lo, int hi, const char* what)
{
    return (v >= lo && v < hi) || fail(r, what);
}

static int* get_ints(reader* r, int* count, int* capacity)
{
    int n = get_count(r, 4);
    if (r->bad != NULL)
        return NULL;
    int cap = n < 16 ? 16 : n;
    int* v = sh_alloc((size_t)cap * sizeof *v);
    if (v == NULL)
        return fail(r, "out of memory"), NULL;
    take(r, v, (size_t)n * sizeof *v);
    *count = n;
    *capacity = cap;
    return v;
}

static void get_pool(reader* r, sh_id_pool* p, int first, int limit)
{
    sh_id_pool_destroy(p);
    p->next = get_i32(r);
    in_range(r, p->next, first, limit + 1, "snapshot's id pool counts past its slots");
    p->free_ids = get_ints(r, &p->free_count, &p->free_capacity);
    for (int i = 0; i < p->free_count; i++)
        in_range(r, p->free_ids[i], first, p->next, "snapshot's id pool frees an id it never gave");
}

static sh_hull* get_hull(reader* r)
{
    int vc = get_i32(r), fc = get_i32(r), ec = get_i32(r), ic = get_i32(r);
    const size_t bytes_left = (size_t)(r->end - r->p);
    if (vc < 4 || fc < 4 || ec < 6 || ic < 3 * fc || vc > 65535 || fc > 65535 || ec > 65535 || ic > 65535 ||
        (size_t)(12 * vc + 20 * fc + 8 * ec + 2 * ic) > bytes_left)
        return fail(r, "snapshot holds a malformed hull"), NULL;
    // One block with the arrays after the header (the layout sh_hull_free releases by `bytes`).
    size_t off_v = (sizeof(sh_hull) + 7) & ~(size_t)7;
    size_t off_f = (off_v + (size_t)vc * sizeof(vec3) + 7) & ~(size_t)7;
    size_t off_e = (off_f + (size_t)fc * sizeof(sh_hull_face) + 7) & ~(size_t)7;
    size_t off_i = (off_e + (size_t)ec * sizeof(sh_hull_edge) + 7) & ~(size_t)7;
    size_t bytes = off_i + (size_t)ic * sizeof(uint16_t);
    char* block = sh_alloc_zeroed(bytes);
    if (block == NULL)
        return fail(r, "out of memory"), NULL;
    sh_hull* h = (sh_hull*)block;
    *h = (sh_hull){vc,
                   fc,
                   ec,
                   ic,
                   (vec3*)(block + off_v),
                   (sh_hull_face*)(block + off_f),
                   (sh_hull_edge*)(block + off_e),
                   (uint16_t*)(block + off_i),
                   .bytes = bytes};
    get_floats(r, &h->vertices[0][0], 3 * vc);
    for (int i = 0; i < fc; i++)
    {
        sh_hull_face* f = &h->faces[i];
        get_floats(r, f->normal, 3);
        get_floats(r, &f->offset, 1);
        f->first = get_u16(r);
        f->count = get_u16(r);
        if (f->count < 3 || f->first + f->count > ic)
            fail(r, "snapshot holds a hull face past its index list");
    }
    for (int i = 0; i < ec; i++)
    {
        sh_hull_edge* e = &h->edges[i];
        e->v0 = get_u16(r);
        e->v1 = get_u16(r);
        e->face_a = get_u16(r);
        e->face_b = get_u16(r);
        if (e->v0 >= vc || e->v1 >= vc || e->face_a >= fc || e->face_b >= fc)
            fail(r, "snapshot holds a hull edge out of range");
    }
    take(r, h->face_indices, (size_t)ic * sizeof(uint16_t));
    for (int i = 0; i < ic && r->bad == NULL; i++)
        if (h->face_indices[i] >= vc)
            fail(r, "snapshot holds a hull face index out of range");
    get_floats(r, &h->mass.volume, 1);
    get_floats(r, h->mass.centroid, 3);
    get_floats(r, &h->mass.inertia[0][0], 9);
    get_floats(r, h->aabb_min, 3);
    get_floats(r, h->aabb_max, 3);
    return h;
}

static void get_body(reader* r, sh_world* w, sh_body* b)
{
    get_floats(r, b->xf.q, 4);
    get_floats(r, b->xf.p, 3);
    get_floats(r, b->local_center, 3);
    get_floats(r, b->v, 3);
    get_floats(r, b->w, 3);
    get_floats(r, &b->inertia_local[0][0], 9);
    get_floats(r, &b->inv_inertia_local[0][0], 9);
    float s[5];
    get_floats(r, s, 5);
    b->mass = s[0], b->inv_mass = s[1], b->restitution = s[2], b->friction = s[3], b->extent = s[4];
    int shape = get_i32(r);
    in_range(r, shape, -1, w->shapes.count, "snapshot's body names a hull it does not hold");
    b->hull = shape >= 0 && r->bad == NULL ? w->shapes.data[shape].centred : NULL;
    get_floats(r, b->fat_box.lo, 3);
    get_floats(r, b->fat_box.hi, 3);
    b->proxy = get_i32(r);
    get_floats(r, &b->sleep_time, 1);
    b->island_next = get_i32(r);
    b->sleep_island = get_i32(r);
    b->solver_index = get_i32(r);
    b->generation = get_u32(r);
    uint8_t flags = get_u8(r);
    if (flags > 15)
        fail(r, "snapshot's body has unknown flags");
    b->in_use = flags & 1, b->is_static = flags >> 1 & 1, b->sleeping = flags >> 2 & 1,
    b->isotropic = flags >> 3 & 1;
    if (b->in_use && b->hull == NULL)
        fail(r, "snapshot's body has no hull");
}

static void get_contact(reader* r, sh_contact* c)
{
    c->body_a = get_i32(r);
    c->body_b = get_i32(r);
    c->key = get_u64(r);
    get_floats(r, c->manifold.normal, 3);
    c->manifold.point_count = get_i32(r);
    in_range(r, c->manifold.point_count, 0, SH_MAX_MANIFOLD_POINTS + 1,
             "snapshot's contact has too many points");
    for (int i = 0; i < c->manifold.point_count && r->bad == NULL; i++)
    {
        sh_manifold_point* p = &c->manifold.points[i];
        get_floats(r, p->point_a, 3);
        get_floats(r, p->point_b, 3);
        get_floats(r, &p->separation, 1);
        p->id = get_u32(r);
        sh_contact_point_state* s = &c->state[i];
        s->id = get_u32(r);
        float impulses[4];
        get_floats(r, impulses, 4);
        s->normal_impulse = impulses[0], s->tangent_impulse[0] = impulses[1];
        s->tangent_impulse[1] = impulses[2], s->max_normal_impulse = impulses[3];
    }
    sh_sat_cache* k = &c->cache;
    k->kind = get_u8(r);
    k->index_a = get_u16(r);
    k->index_b = get_u16(r);
    get_floats(r, &k->separation, 1);
    k->anchored = get_u8(r);
    get_floats(r, k->anchor_q, 4);
    get_floats(r, k->anchor_p, 3);
    get_floats(r, &c->friction, 1);
    get_floats(r, &c->restitution, 1);
    c->in_use = get_i32(r);
    uint8_t flags = get_u8(r);
    if (flags > 3 || k->kind > 3 || k->anchored > 1 || c->in_use < 0 || c->in_use > 1)
        fail(r, "snapshot's contact has unknown flags");
    c->touching = flags & 1, c->warm = flags >> 1 & 1;
    c->constraint = get_i32(r);
}

static void get_tree(reader* r, sh_tree* t, int bodies)
{
    t->capacity = get_count(r, 44);
    t->root = get_i32(r);
    t->count = get_i32(r);
    t->free_list = get_i32(r);
    if (r->bad != NULL || t->capacity == 0)
        return;
    t->nodes = sh_alloc((size_t)t->capacity * sizeof *t->nodes);
    if (t->nodes == NULL)
    {
        t->capacity = 0;
        fail(r, "out of memory");
        return;
    }
    for (int i = 0; i < t->capacity; i++)
    {
        sh_tree_node* n = &t->nodes[i];
        get_floats(r, n->box.lo, 3);
        get_floats(r, n->box.hi, 3);
        int32_t links[5];
        take(r, links, sizeof links);
        n->parent = links[0], n->child1 = links[1], n->child2 = links[2], n->height = links[3],
        n->user = links[4];
        in_range(r, n->parent, -1, t->capacity, "snapshot's tree links a node out of range");
        in_range(r, n->height, -1, 64, "snapshot's tree is too deep");
        if (n->height < 0)
            continue;
        if (n->height == 0)
            in_range(r, n->user, 1, bodies, "snapshot's tree leaf names a body out of range");
        else
        {
            in_range(r, n->child1, 0, t->capacity, "snapshot's tree links a node out of range");
            in_range(r, n->child2, 0, t->capacity, "snapshot's tree links a node out of range");
        }
    }
}

// The tree hangs together: every node in use but the root has a parent that links back to it and stands
// higher, and an inner node's children link back and stand lower (one of them exactly one lower), so
// every node is reached from the root, there is no cycle and a query ends; the free list covers the rest.
static bool check_tree(reader* r, const sh_tree* t)
{
    if (r->bad != NULL)
        return false;
    if (!in_range(r, t->root, -1, t->capacity, "snapshot's tree root is out of range") ||
        !in_range(r, t->free_list, -1, t->capacity, "snapshot's tree free list is out of range"))
        return false;
    int reached = 0;
    for (int i = 0; i < t->capacity; i++)
    {
        const sh_tree_node* n = &t->nodes[i];
        if (n->height < 0)
            continue;
        reached++;
        const sh_tree_node* up = n->parent >= 0 ? &t->nodes[n->parent] : NULL;
        if (i == t->root ? up != NULL
                         : up == NULL || up->height <= n->height || (up->child1 != i && up->child2 != i))
            return fail(r, "snapshot's tree is not a tree");
        if (n->height > 0)
        {
            const sh_tree_node *a = &t->nodes[n->child1], *b = &t->nodes[n->child2];
            if (a->parent != i || b->parent != i || n->child1 == n->child2 ||
                (a->height != n->height - 1 && b->height != n->height - 1) || a->height < 0 ||
                b->height < 0 || a->height >= n->height || b->height >= n->height)
                return fail(r, "snapshot's tree is not a tree");
        }
    }
    int free_nodes = 0;
    for (int i = t->free_list; i >= 0 && free_nodes <= t->capacity; i = t->nodes[i].parent, free_nodes++)
        if (t->nodes[i].height >= 0)
            return fail(r, "snapshot's tree free list holds a node in use");
    if (reached != t->count || reached + free_nodes != t->capacity || (t->root < 0) != (reached == 0))
        return fail(r, "snapshot's tree counts do not add up");
    return true;
}

static void read_header(reader* r, size_t bytes)
{
    char magic[4];
    take(r, magic, 4);
    if (r->bad != NULL || memcmp(magic, SH_SNAPSHOT_MAGIC, 4) != 0)
    {
        r->bad = "not a world snapshot";
        return;
    }
    uint32_t version = get_u32(r);
    if (version != SH_SNAPSHOT_VERSION)
        fail(r, "snapshot version is not one this host reads");
    uint64_t total = get_u64(r), hash = get_u64(r);
    if (r->bad == NULL && total != bytes)
        fail(r, "snapshot is truncated");
    if (r->bad == NULL && hash != sh_snapshot_hash(r->p, (size_t)(r->end - r->p)))
        fail(r, "snapshot is corrupt (checksum)");
}

static void read_def(reader* r, sh_world* w)
{
    sh_world_def* d = &w->def;
    get_floats(r, d->gravity, 3);
    d->substeps = get_i32(r);
    uint8_t sleep = get_u8(r);
    d->enable_sleep = sleep != 0;
    float contact[4];
    get_floats(r, contact, 4);
    d->contact_hertz = contact[0], d->contact_damping_ratio = contact[1];
    d->contact_push_max = contact[2], d->restitution_threshold = contact[3];
    in_range(r, d->substeps, 1, 65, "snapshot's substeps are out of range");
    if (sleep > 1)
        fail(r, "snapshot's sleep flag is not 0 or 1");
    take(r, &w->time, 8);
    w->step_index = get_u64(r);
    sh_world_stats* s = &w->stats;
    int32_t counts[8];
    take(r, counts, sizeof counts);
    s->bodies = counts[0], s->awake_bodies = counts[1], s->pairs = counts[2], s->contacts = counts[3];
    s->contact_points = counts[4], s->iterations = counts[5], s->num_constraints = counts[6];
    s->num_points = counts[7];
    double ms[4];
    take(r, ms, sizeof ms);
    s->collide_ms = ms[0], s->solve_ms = ms[1], s->sleep_ms = ms[2], s->step_ms = ms[3];
    get_floats(r, &s->residual, 1);
    s->converged = get_u8(r) != 0;
}

static void read_shapes_bodies(reader* r, sh_world* w)
{
    int shapes = get_count(r, 16);
    if (r->bad != NULL || !SH_ARRAY_RESERVE(w->shapes, shapes))
    {
        fail(r, "out of memory");
        return;
    }
    for (int i = 0; i < shapes && r->bad == NULL; i++)
    {
        sh_hull* h = get_hull(r);
        if (h !=
            NULL) // source NULL: no later body's source hull is ever this pointer (a spawn makes its own)
            w->shapes.data[w->shapes.count++] = (sh_shape){NULL, h};
    }
    int bodies = get_count(r, 213); // a body: 213 bytes
    if (r->bad == NULL && bodies < 1)
        fail(r, "snapshot has no body slot 0");
    if (r->bad != NULL || !SH_ARRAY_RESERVE(w->bodies, bodies))
    {
        fail(r, "out of memory");
        return;
    }
    w->bodies.count = bodies;
    memset(w->bodies.data, 0, (size_t)bodies * sizeof *w->bodies.data);
    for (int i = 0; i < bodies && r->bad == NULL; i++)
        get_body(r, w, &w->bodies.data[i]);
    if (r->bad == NULL && w->bodies.data[0].in_use)
        fail(r, "snapshot uses body slot 0");
    get_pool(r, &w->body_pool, 1, bodies);
    SH_ARRAY_FREE(w->order);
    w->order.data = get_ints(r, &w->order.count, &w->order.capacity);
    for (int i = 0; i < w->order.count && r->bad == NULL; i++)
        if (in_range(r, w->order.data[i], 1, bodies, "snapshot's body order names a slot out of range") &&
            !w->bodies.data[w->order.data[i]].in_use)
            fail(r, "snapshot's body order names a free slot");
}

static void read_contacts_pairs(reader* r, sh_world* w)
{
    int contacts = get_count(r, 87); // a contact without points: 87 bytes
    if (r->bad != NULL || !SH_ARRAY_RESERVE(w->contacts, contacts))
    {
        fail(r, "out of memory");
        return;
    }
    if (contacts > 0) // none: data may be NULL
        memset(w->contacts.data, 0, (size_t)contacts * sizeof *w->contacts.data);
    w->contacts.count = contacts;
    const int bodies = w->bodies.count;
    for (int i = 0; i < contacts && r->bad == NULL; i++)
    {
        sh_contact* c = &w->contacts.data[i];
        get_contact(r, c);
        if (!c->in_use)
            continue;
        if (in_range(r, c->body_a, 1, bodies, "snapshot's contact names a body out of range") &&
            in_range(r, c->body_b, 1, bodies, "snapshot's contact names a body out of range"))
        {
            const sh_hull *a = w->bodies.data[c->body_a].hull, *b = w->bodies.data[c->body_b].hull;
            // The SAT cache's indices are faces or edges of the pair's hulls.
            // The pair key is the one contact.c derives from the pair (a < b), so the pair set finds it.
            const uint64_t key = (((uint64_t)c->body_a << 32) | (uint32_t)c->body_b) + 1;
            if (a == NULL || b == NULL || c->body_a >= c->body_b || c->key != key ||
                c->cache.index_a >= (a->face_count > a->edge_count ? a->face_count : a->edge_count) ||
                c->cache.index_b >= (b->face_count > b->edge_count ? b->face_count : b->edge_count))
                fail(r, "snapshot's contact does not fit its bodies");
        }
    }
    get_pool(r, &w->contact_pool, 0, contacts);
    int cap = get_count(r, 12);
    w->pair_count = get_i32(r);
    if (r->bad == NULL && ((cap & (cap - 1)) != 0 || w->pair_count < 0 || 2 * w->pair_count > cap))
        fail(r, "snapshot's pair set is malformed");
    if (r->bad != NULL || cap == 0)
        return;
    w->pair_keys = sh_alloc_zeroed((size_t)cap * sizeof *w->pair_keys);
    w->pair_values = sh_alloc_zeroed((size_t)cap * sizeof *w->pair_values);
    w->pair_capacity = cap;
    if (w->pair_keys == NULL || w->pair_values == NULL)
    {
        fail(r, "out of memory");
        return;
    }
    int used = 0;
    for (int i = 0; i < cap && r->bad == NULL; i++)
    {
        w->pair_keys[i] = get_u64(r);
        w->pair_values[i] = get_i32(r);
        if (w->pair_keys[i] != 0)
        {
            used++;
            in_range(r, w->pair_values[i], 0, contacts, "snapshot's pair names a contact out of range");
        }
    }
    if (r->bad == NULL && used != w->pair_count)
        fail(r, "snapshot's pair count does not add up");
}

static void read_islands(reader* r, sh_world* w)
{
    int islands = get_count(r, 8);
    if (r->bad != NULL || !SH_ARRAY_RESERVE(w->islands, islands))
    {
        fail(r, "out of memory");
        return;
    }
    w->islands.count = islands;
    const int bodies = w->bodies.count;
    for (int i = 0; i < islands; i++)
    {
        w->islands.data[i].head = get_i32(r);
        w->islands.data[i].count = get_i32(r);
    }
    get_pool(r, &w->island_pool, 0, islands);
    for (int i = 1; i < bodies && r->bad == NULL; i++)
    {
        const sh_body* b = &w->bodies.data[i];
        in_range(r, b->island_next, -1, bodies, "snapshot's island list names a body out of range");
        in_range(r, b->sleep_island, -1, islands, "snapshot's body names an island out of range");
        in_range(r, b->solver_index, -1, bodies, "snapshot's body has a solver index out of range");
    }
    // Each island's list ends within its count (a cycle would hang the next wake).
    for (int i = 0; i < islands && r->bad == NULL; i++)
    {
        const sh_island* is = &w->islands.data[i];
        if (!in_range(r, is->head, -1, bodies, "snapshot's island starts at a body out of range") ||
            is->head < 0)
            continue;
        int n = 0;
        for (int b = is->head; b >= 0 && n <= bodies; b = w->bodies.data[b].island_next)
            if (b == 0 || w->bodies.data[b].sleep_island != i || ++n > is->count)
                break;
        if (n != is->count)
            fail(r, "snapshot's island list does not match its count");
    }
}

static void read_broad_phase(reader* r, sh_world* w)
{
    const int bodies = w->bodies.count;
    get_tree(r, &w->bp.dynamic_tree, bodies);
    check_tree(r, &w->bp.dynamic_tree);
    get_tree(r, &w->bp.static_tree, bodies);
    check_tree(r, &w->bp.static_tree);
    w->bp.moved = get_ints(r, &w->bp.moved_count, &w->bp.moved_capacity);
    for (int i = 0; i < w->bp.moved_count && r->bad == NULL; i++)
        in_range(r, w->bp.moved[i], 1, bodies, "snapshot's move buffer names a body out of range");
    for (int i = 1; i < bodies && r->bad == NULL; i++)
    {
        const sh_body* b = &w->bodies.data[i];
        const sh_tree* t = b->is_static ? &w->bp.static_tree : &w->bp.dynamic_tree;
        // Every body in use has its leaf (asleep too: the step removes and reinserts it by this index).
        if ((b->in_use || b->proxy != -1) &&
            (!in_range(r, b->proxy, 0, t->capacity, "snapshot's body proxy is out of range") ||
             t->nodes[b->proxy].height != 0 || t->nodes[b->proxy].user != i))
            fail(r, "snapshot's body proxy is not its leaf");
    }
    SH_ARRAY_FREE(w->touching);
    w->touching.data = get_ints(r, &w->touching.count, &w->touching.capacity);
    for (int i = 0; i < w->touching.count && r->bad == NULL; i++)
        if (in_range(r, w->touching.data[i], 0, w->contacts.count,
                     "snapshot's touching list is out of range") &&
            !w->contacts.data[w->touching.data[i]].in_use)
            fail(r, "snapshot's touching list names a free contact");
    if (r->bad == NULL && r->p != r->end)
        fail(r, "snapshot has bytes after its end");
}

bool sh_world_restore(sh_world* world, const void* blob, size_t bytes, sh_error* err)
{
    if (blob == NULL)
        return sh_error_set(err, "no snapshot");
    reader r = {blob, (const unsigned char*)blob + bytes, NULL};
    read_header(&r, bytes);
    if (r.bad != NULL)
        return sh_error_set(err, "%s", r.bad);
    sh_world_def def = sh_world_def_default();
    sh_world* w = NULL;
    if (!sh_world_create(&def, &w, err))
        return false;
    read_def(&r, w);
    read_shapes_bodies(&r, w);
    read_contacts_pairs(&r, w);
    read_islands(&r, w);
    read_broad_phase(&r, w);
    if (r.bad != NULL)
    {
        sh_world_destroy(w);
        return sh_error_set(err, "%s", r.bad);
    }
    // How the world steps (its threads and task interface) is the caller's, not the snapshot's: it stays.
    w->def.threads = world->def.threads;
    w->def.enqueue_task = world->def.enqueue_task;
    w->def.finish_task = world->def.finish_task;
    w->def.task_context = world->def.task_context;
    // Swap: the caller's handle now holds the restored state, and the old state is freed with the shell.
    sh_world tmp = *world;
    *world = *w;
    *w = tmp;
    sh_world_destroy(w);
    return true;
}
