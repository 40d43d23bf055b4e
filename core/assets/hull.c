// Convex hull of a point cloud: quickhull over triangles in double precision, then coplanar triangles
// merged into convex polygon faces and the result packed into one sh_hull allocation.
//
// Robustness comes from "thick planes" (as qhull): a point counts as outside a face only when it is more
// than `tol` above it, so duplicates, points on edges and points within tol of a face are never added.
// tol is relative to the cloud's size (see hull_tolerance) because float32 input carries about 1e-7
// relative error and shapes range from 5 cm dominoes to 200 m slabs. Merging grows a region from the
// largest triangle and accepts neighbours whose vertices lie within tol of the *seed's* plane, so a gently
// curved surface never drifts into one face by chaining small angles (a sphere keeps all its facets).
#include "hull.h"

#include "simhost/hull.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct qh_face
{
    int v[3];  // point indices, CCW seen from outside
    int nb[3]; // neighbour face across edge v[i] -> v[(i+1)%3]
    double n[3];
    double d;
    int outside; // head of this face's outside-point list (-1: empty)
    int alive;
    int mark; // visit stamp of the current horizon search
    int thin; // set by merge_faces: corners within tol of a line, so the normal means nothing
} qh_face;

typedef struct qh_horizon
{
    int a, b;    // edge a -> b of the visible side
    int face;    // the non-visible face across it
    int nb_edge; // index of the edge b -> a in that face
} qh_horizon;

typedef struct qh
{
    int n;
    double (*p)[3];
    int* next; // outside-list links, one per point
    qh_face* faces;
    int face_count, face_cap;
    int* visible; // faces found visible from the current eye point
    int visible_count, visible_cap;
    qh_horizon* horizon;
    int horizon_count, horizon_cap;
    int* work; // faces that may hold outside points
    int work_count, work_cap;
    int stamp;
    double tol;
    bool oom;
    bool broken; // topology became inconsistent (degenerate input the tolerance did not absorb)
} qh;

// Grows *arr (of elem bytes each) so that index `need` fits. Sets h->oom on failure.
static bool grow(qh* h, void** arr, int* cap, int need, size_t elem)
{
    if (need < *cap)
        return true;
    int ncap = *cap < 16 ? 16 : *cap;
    while (ncap <= need)
        ncap *= 2;
    void* q = sh_realloc(*arr, (size_t)*cap * elem, (size_t)ncap * elem);
    if (q == NULL)
    {
        h->oom = true;
        return false;
    }
    *arr = q;
    *cap = ncap;
    return true;
}

static double dot3(const double* a, const double* b)
{
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

static void sub3(const double* a, const double* b, double* out)
{
    out[0] = a[0] - b[0];
    out[1] = a[1] - b[1];
    out[2] = a[2] - b[2];
}

static void cross3(const double* a, const double* b, double* out)
{
    out[0] = a[1] * b[2] - a[2] * b[1];
    out[1] = a[2] * b[0] - a[0] * b[2];
    out[2] = a[0] * b[1] - a[1] * b[0];
}

static double face_dist(const qh* h, const qh_face* f, int point)
{
    return dot3(f->n, h->p[point]) - f->d;
}

static void face_plane(qh* h, qh_face* f)
{
    const double *a = h->p[f->v[0]], *b = h->p[f->v[1]], *c = h->p[f->v[2]];
    double ab[3], ac[3], n[3];
    sub3(b, a, ab);
    sub3(c, a, ac);
    cross3(ab, ac, n);
    double len = sqrt(dot3(n, n));
    for (int k = 0; k < 3; k++)
        f->n[k] = len > 0 ? n[k] / len : 0;
    double centre[3] = {(a[0] + b[0] + c[0]) / 3, (a[1] + b[1] + c[1]) / 3, (a[2] + b[2] + c[2]) / 3};
    f->d = dot3(f->n, centre);
}

static int add_face(qh* h, int a, int b, int c)
{
    if (!grow(h, (void**)&h->faces, &h->face_cap, h->face_count, sizeof *h->faces))
        return -1;
    qh_face* f = &h->faces[h->face_count];
    memset(f, 0, sizeof *f);
    f->v[0] = a;
    f->v[1] = b;
    f->v[2] = c;
    f->nb[0] = f->nb[1] = f->nb[2] = -1;
    f->outside = -1;
    f->alive = 1;
    face_plane(h, f);
    return h->face_count++;
}

static void push_work(qh* h, int face)
{
    if (grow(h, (void**)&h->work, &h->work_cap, h->work_count, sizeof *h->work))
        h->work[h->work_count++] = face;
}

// Puts point i on the outside list of the face among faces[0 .. count) it is furthest above, if any.
static void assign_point(qh* h, int i, const int* faces, int count)
{
    int best = -1;
    double best_d = h->tol;
    for (int k = 0; k < count; k++)
    {
        double d = face_dist(h, &h->faces[faces[k]], i);
        if (d > best_d)
        {
            best_d = d;
            best = faces[k];
        }
    }
    if (best < 0)
        return; // inside or within tol of the hull: never a vertex
    qh_face* f = &h->faces[best];
    if (f->outside < 0)
        push_work(h, best);
    h->next[i] = f->outside;
    f->outside = i;
}

// Relative tolerance (see the file comment): 1e-5 of the largest box side, plus float rounding of the
// largest coordinate so a shape far from its origin still merges its coplanar triangles.
static double hull_tolerance(const qh* h)
{
    double lo[3], hi[3], maxabs = 0;
    for (int k = 0; k < 3; k++)
        lo[k] = hi[k] = h->p[0][k];
    for (int i = 0; i < h->n; i++)
        for (int k = 0; k < 3; k++)
        {
            lo[k] = fmin(lo[k], h->p[i][k]);
            hi[k] = fmax(hi[k], h->p[i][k]);
            maxabs = fmax(maxabs, fabs(h->p[i][k]));
        }
    double extent = fmax(hi[0] - lo[0], fmax(hi[1] - lo[1], hi[2] - lo[2]));
    return 1e-5 * extent + 8 * FLT_EPSILON * maxabs;
}

static bool link_face_pair(qh* h, int fi, int gi)
{
    qh_face *f = &h->faces[fi], *g = &h->faces[gi];
    for (int e = 0; e < 3; e++)
        for (int j = 0; j < 3; j++)
            if (f->v[e] == g->v[(j + 1) % 3] && f->v[(e + 1) % 3] == g->v[j])
            {
                f->nb[e] = gi;
                g->nb[j] = fi;
            }
    return true;
}

static bool initial_simplex(qh* h, sh_error* err)
{
    // The two furthest apart among the six axis extremes, then the point furthest from their line,
    // then the point furthest from that plane.
    int ext[6];
    for (int k = 0; k < 3; k++)
    {
        ext[2 * k] = ext[2 * k + 1] = 0;
        for (int i = 1; i < h->n; i++)
        {
            if (h->p[i][k] < h->p[ext[2 * k]][k])
                ext[2 * k] = i;
            if (h->p[i][k] > h->p[ext[2 * k + 1]][k])
                ext[2 * k + 1] = i;
        }
    }
    int i0 = 0, i1 = 0;
    double best = -1;
    for (int a = 0; a < 6; a++)
        for (int b = a + 1; b < 6; b++)
        {
            double d[3];
            sub3(h->p[ext[a]], h->p[ext[b]], d);
            if (dot3(d, d) > best)
            {
                best = dot3(d, d);
                i0 = ext[a];
                i1 = ext[b];
            }
        }
    double dir[3];
    sub3(h->p[i1], h->p[i0], dir);
    double len = sqrt(dot3(dir, dir));
    if (len <= h->tol)
        return sh_error_set(err, "hull needs at least 4 non-coplanar points (all points coincide)");
    for (int k = 0; k < 3; k++)
        dir[k] /= len;
    int i2 = -1;
    best = h->tol;
    for (int i = 0; i < h->n; i++)
    {
        double d[3], c[3];
        sub3(h->p[i], h->p[i0], d);
        cross3(d, dir, c);
        double dist = sqrt(dot3(c, c));
        if (dist > best)
        {
            best = dist;
            i2 = i;
        }
    }
    if (i2 < 0)
        return sh_error_set(err, "hull needs at least 4 non-coplanar points (all points are collinear)");
    double e1[3], e2[3], n[3];
    sub3(h->p[i1], h->p[i0], e1);
    sub3(h->p[i2], h->p[i0], e2);
    cross3(e1, e2, n);
    len = sqrt(dot3(n, n));
    for (int k = 0; k < 3; k++)
        n[k] /= len;
    int i3 = -1;
    best = h->tol;
    double d0 = dot3(n, h->p[i0]);
    for (int i = 0; i < h->n; i++)
    {
        double dist = fabs(dot3(n, h->p[i]) - d0);
        if (dist > best)
        {
            best = dist;
            i3 = i;
        }
    }
    if (i3 < 0)
        return sh_error_set(err, "hull needs at least 4 non-coplanar points (all points are coplanar)");

    const int tri[4][3] = {{i0, i1, i2}, {i0, i1, i3}, {i1, i2, i3}, {i2, i0, i3}};
    double centre[3];
    for (int k = 0; k < 3; k++)
        centre[k] = (h->p[i0][k] + h->p[i1][k] + h->p[i2][k] + h->p[i3][k]) / 4;
    int ids[4];
    for (int t = 0; t < 4; t++)
    {
        int f = add_face(h, tri[t][0], tri[t][1], tri[t][2]);
        if (f < 0)
            return sh_error_set(err, "hull: out of memory");
        qh_face* fp = &h->faces[f];
        if (dot3(fp->n, centre) - fp->d > 0)
        {
            int tmp = fp->v[1];
            fp->v[1] = fp->v[2];
            fp->v[2] = tmp;
            face_plane(h, fp);
        }
        ids[t] = f;
    }
    for (int a = 0; a < 4; a++)
        for (int b = a + 1; b < 4; b++)
            link_face_pair(h, ids[a], ids[b]);
    for (int i = 0; i < h->n; i++)
        if (i != i0 && i != i1 && i != i2 && i != i3)
            assign_point(h, i, ids, 4);
    return !h->oom || sh_error_set(err, "hull: out of memory");
}

// Depth-first walk over the faces visible from `eye`, entering face fi through its edge `edge0`; records
// the horizon edges in order (the walk visits edges CCW, so consecutive horizon edges share a vertex).
static void find_horizon(qh* h, int fi, int edge0, int eye)
{
    h->faces[fi].mark = h->stamp;
    if (!grow(h, (void**)&h->visible, &h->visible_cap, h->visible_count, sizeof *h->visible))
        return;
    h->visible[h->visible_count++] = fi;
    for (int k = 0; k < 3; k++)
    {
        int e = (edge0 + k) % 3;
        qh_face* f = &h->faces[fi];
        int nbi = f->nb[e];
        if (nbi < 0)
        {
            h->broken = true;
            return;
        }
        qh_face* g = &h->faces[nbi];
        if (g->mark == h->stamp)
            continue;
        int back = -1;
        for (int j = 0; j < 3; j++)
            if (g->nb[j] == fi && g->v[j] == f->v[(e + 1) % 3])
                back = j;
        if (back < 0)
        {
            h->broken = true;
            return;
        }
        // Visible means above by 1e-4·tol (far above rounding, ~1e-15 of the extent), not by tol: a
        // neighbour the eye is above by less than tol but leans over would otherwise get a new face folded
        // over it (flipped). Tol decides which points become vertices; the hull of those vertices is then
        // built nearly exactly, so folds are at most 1e-4·tol deep.
        if (face_dist(h, g, eye) > 1e-4 * h->tol)
            find_horizon(h, nbi, back, eye);
        else
        {
            if (!grow(h, (void**)&h->horizon, &h->horizon_cap, h->horizon_count, sizeof *h->horizon))
                return;
            h->horizon[h->horizon_count++] = (qh_horizon){f->v[e], f->v[(e + 1) % 3], nbi, back};
        }
        if (h->oom || h->broken)
            return;
    }
}

static void add_point(qh* h, int fi)
{
    // The eye: the outside point furthest above this face.
    qh_face* f = &h->faces[fi];
    int eye = -1, prev_eye = -1;
    double best = -DBL_MAX;
    for (int i = f->outside, prev = -1; i >= 0; prev = i, i = h->next[i])
    {
        double d = face_dist(h, f, i);
        if (d > best)
        {
            best = d;
            eye = i;
            prev_eye = prev;
        }
    }
    if (prev_eye < 0)
        f->outside = h->next[eye];
    else
        h->next[prev_eye] = h->next[eye];

    h->stamp++;
    h->visible_count = 0;
    h->horizon_count = 0;
    find_horizon(h, fi, 0, eye);
    if (h->oom || h->broken)
        return;
    for (int k = 0; k < h->horizon_count; k++)
        if (h->horizon[k].b != h->horizon[(k + 1) % h->horizon_count].a)
        {
            h->broken = true;
            return;
        }

    int first_new = h->face_count;
    for (int k = 0; k < h->horizon_count; k++)
    {
        qh_horizon e = h->horizon[k];
        int nf = add_face(h, e.a, e.b, eye);
        if (nf < 0)
            return;
        h->faces[nf].nb[0] = e.face;
        h->faces[e.face].nb[e.nb_edge] = nf;
    }
    int count = h->horizon_count;
    for (int k = 0; k < count; k++)
    {
        int a = first_new + k, b = first_new + (k + 1) % count;
        h->faces[a].nb[1] = b;
        h->faces[b].nb[2] = a;
    }

    // Hand the orphaned outside points to the new faces (the rest are now inside).
    int new_ids_cap = count;
    int* new_ids = sh_alloc((size_t)new_ids_cap * sizeof *new_ids);
    if (new_ids == NULL)
    {
        h->oom = true;
        return;
    }
    for (int k = 0; k < count; k++)
        new_ids[k] = first_new + k;
    for (int v = 0; v < h->visible_count; v++)
    {
        qh_face* dead = &h->faces[h->visible[v]];
        dead->alive = 0;
        int i = dead->outside;
        dead->outside = -1;
        while (i >= 0)
        {
            int nx = h->next[i];
            assign_point(h, i, new_ids, count);
            i = nx;
        }
    }
    sh_free(new_ids, (size_t)new_ids_cap * sizeof *new_ids);
}

// --- merging triangles into polygon faces --------------------------------------------------------

typedef struct poly
{
    int first, count; // into loop indices
    double n[3], d;
} poly;

typedef struct area_item
{
    double area;
    int face;
} area_item;

static int cmp_area(const void* a, const void* b)
{
    const area_item *x = a, *y = b;
    if (x->area != y->area)
        return x->area > y->area ? -1 : 1;
    return x->face - y->face; // deterministic order for equal areas
}

typedef struct half_edge
{
    int lo, hi; // sorted vertex pair
    int a, b;   // direction as in its face
    int face;
} half_edge;

static int cmp_half_edge(const void* a, const void* b)
{
    const half_edge *x = a, *y = b;
    if (x->lo != y->lo)
        return x->lo - y->lo;
    if (x->hi != y->hi)
        return x->hi - y->hi;
    return x->face - y->face;
}

// Scratch for the merge and packing stage; all released in one place.
typedef struct merge_state
{
    int* group;  // per qh face: polygon index, -1 unassigned
    int* queue;  // BFS queue of faces
    int* bnext;  // per point: next boundary vertex of the current region (-1 none)
    int* bstamp; // per point: which region set bnext
    int* loop;   // concatenated polygon loops (point indices)
    int loop_count, loop_cap;
    poly* polys;
    int poly_count, poly_cap;
    area_item* order;
    int* degree; // per point: number of polygons it is a corner of
    int* remap;  // per point: hull vertex index or -1
    half_edge* hes;
    int stamp; // of the last region_loop call (bstamp)
} merge_state;

static bool region_loop(qh* h, merge_state* m, const int* members, int member_count)
{
    int region = m->group[members[0]];
    int stamp = ++m->stamp;
    // Boundary half-edges: edges of member triangles whose neighbour lies outside the region. For a
    // disk-shaped region they form one loop; anything else (a pinch) makes the caller fall back.
    int boundary = 0, start = -1;
    for (int t = 0; t < member_count; t++)
    {
        qh_face* f = &h->faces[members[t]];
        for (int e = 0; e < 3; e++)
        {
            if (m->group[f->nb[e]] == region)
                continue;
            int a = f->v[e], b = f->v[(e + 1) % 3];
            if (m->bstamp[a] == stamp)
                return false; // a vertex with two outgoing boundary edges
            m->bstamp[a] = stamp;
            m->bnext[a] = b;
            boundary++;
            start = a;
        }
    }
    if (start < 0 || boundary < 3)
        return false;
    int first = m->loop_count;
    int v = start, steps = 0;
    do
    {
        if (m->bstamp[v] != stamp || steps > boundary)
            return false;
        if (!grow(h, (void**)&m->loop, &m->loop_cap, m->loop_count, sizeof *m->loop))
            return false;
        m->loop[m->loop_count++] = v;
        v = m->bnext[v];
        steps++;
    } while (v != start);
    if (steps != boundary)
    {
        m->loop_count = first;
        return false;
    }
    return true;
}

static bool add_poly(qh* h, merge_state* m, int first, int count)
{
    if (!grow(h, (void**)&m->polys, &m->poly_cap, m->poly_count, sizeof *m->polys))
        return false;
    m->polys[m->poly_count++] = (poly){first, count, {0, 0, 0}, 0};
    return true;
}

static void merge_free(qh* h, merge_state* m, int face_count)
{
    size_t n = (size_t)h->n;
    sh_free(m->group, (size_t)face_count * sizeof *m->group);
    sh_free(m->queue, (size_t)face_count * sizeof *m->queue);
    sh_free(m->order, (size_t)face_count * sizeof *m->order);
    sh_free(m->bnext, n * sizeof *m->bnext);
    sh_free(m->bstamp, n * sizeof *m->bstamp);
    sh_free(m->degree, n * sizeof *m->degree);
    sh_free(m->remap, n * sizeof *m->remap);
    sh_free(m->loop, (size_t)m->loop_cap * sizeof *m->loop);
    sh_free(m->polys, (size_t)m->poly_cap * sizeof *m->polys);
    sh_free(m->hes, (size_t)m->loop_count * sizeof *m->hes);
}

// True when every corner of the loop loop[first..loop_count) turns left about n, or lies within tol of the
// line through its neighbours (straight corners are removed later).
static bool loop_convex(const qh* h, const merge_state* m, int first, const double* n)
{
    int count = m->loop_count - first;
    for (int i = 0; i < count; i++)
    {
        const double* a = h->p[m->loop[first + i]];
        const double* b = h->p[m->loop[first + (i + 1) % count]];
        const double* c = h->p[m->loop[first + (i + 2) % count]];
        double ab[3], ac[3], x[3];
        sub3(b, a, ab);
        sub3(c, a, ac);
        cross3(ab, ac, x); // along +n at a convex corner b
        double len = sqrt(dot3(ac, ac));
        if (len > 0 && -dot3(x, n) / len > h->tol)
            return false;
    }
    return true;
}

// Loop helpers for corner removal: removed corners are -1 in m->loop until compaction.
static int loop_step(const merge_state* m, int p, int k, int dir)
{
    int n = m->polys[p].count;
    for (int i = 1; i < n; i++)
    {
        int v = m->loop[m->polys[p].first + ((k + dir * i) % n + n) % n];
        if (v >= 0)
            return v;
    }
    return -1;
}

static int live_count(const merge_state* m, int p)
{
    int c = 0;
    for (int k = 0; k < m->polys[p].count; k++)
        c += m->loop[m->polys[p].first + k] >= 0;
    return c;
}

static bool edge_exists(const merge_state* m, int a, int b)
{
    for (int p = 0; p < m->poly_count; p++)
        for (int k = 0; k < m->polys[p].count; k++)
        {
            int v = m->loop[m->polys[p].first + k];
            if (v == a)
            {
                int next = loop_step(m, p, k, +1);
                if (next == b)
                    return true;
            }
        }
    return false;
}

// Largest angle between a seed's normal and a triangle merged into its face (rad). Coplanar input differs
// by float rounding (~1e-7 rad). Merging triangles that differ more tilts the polygon's normal, and on
// curved surfaces far thinner than long two such polygons can meet in a fold (a reversed Gauss-map arc).
// Measured over 3000 adversarial clouds (spec/c/test_hull.c kinds): 1e-3 folds 1 in 6 thin ellipsoids,
// 1e-4 leaves noisy flat faces in slivers that fold; 3e-4 needs a retry in under 1 % of either.
#define MERGE_ANGLE 3e-4

static bool merge_faces(qh* h, merge_state* m)
{
    const double cos_merge = cos(MERGE_ANGLE);
    int fc = h->face_count;
    size_t n = (size_t)h->n;
    m->group = sh_alloc((size_t)fc * sizeof *m->group);
    m->queue = sh_alloc((size_t)fc * sizeof *m->queue);
    m->order = sh_alloc((size_t)fc * sizeof *m->order);
    m->bnext = sh_alloc(n * sizeof *m->bnext);
    m->bstamp = sh_alloc_zeroed(n * sizeof *m->bstamp);
    m->degree = sh_alloc_zeroed(n * sizeof *m->degree);
    m->remap = sh_alloc(n * sizeof *m->remap);
    if (!m->group || !m->queue || !m->order || !m->bnext || !m->bstamp || !m->degree || !m->remap)
        return !(h->oom = true);
    int alive = 0;
    for (int f = 0; f < fc; f++)
    {
        m->group[f] = -1;
        if (!h->faces[f].alive)
            continue;
        const double *a = h->p[h->faces[f].v[0]], *b = h->p[h->faces[f].v[1]], *c = h->p[h->faces[f].v[2]];
        double ab[3], ac[3], x[3];
        sub3(b, a, ab);
        sub3(c, a, ac);
        cross3(ab, ac, x);
        double bc[3];
        sub3(c, b, bc);
        double longest = sqrt(fmax(dot3(ab, ab), fmax(dot3(ac, ac), dot3(bc, bc))));
        double area2 = sqrt(dot3(x, x));
        h->faces[f].thin = !(area2 > h->tol * longest); // height = area2 / longest
        m->order[alive++] = (area_item){area2, f};
    }
    qsort(m->order, (size_t)alive, sizeof *m->order, cmp_area);

    for (int s = 0; s < alive; s++)
    {
        int seed = m->order[s].face;
        if (m->group[seed] >= 0)
            continue;
        int region = m->poly_count;
        const qh_face* sf = &h->faces[seed];
        int first = m->loop_count;
        // Grow within thr of the seed's plane; if the region is not a disk with convex corners (on a gently
        // curved surface the band within tol of a plane can be a crescent), grow again with thr / 4. Exactly
        // coplanar triangles (cube soups: ~1e-7·tol apart) still merge at the smallest thr.
        bool done = false;
        for (double thr = h->tol; !done && thr >= 1e-4 * h->tol; thr /= 4)
        {
            int qn = 0;
            m->queue[qn++] = seed;
            m->group[seed] = region;
            for (int qi = 0; qi < qn; qi++)
            {
                const qh_face* f = &h->faces[m->queue[qi]];
                for (int e = 0; e < 3; e++)
                {
                    int g = f->nb[e];
                    if (m->group[g] >= 0)
                        continue;
                    const qh_face* gf = &h->faces[g];
                    // Corners near the seed's plane and facing the same side (a thin triangle, all corners
                    // within tol of a line, has no meaningful normal: its corners decide alone).
                    bool flat = gf->thin || dot3(gf->n, sf->n) >= cos_merge;
                    for (int k = 0; k < 3 && flat; k++)
                        flat = fabs(dot3(sf->n, h->p[gf->v[k]]) - sf->d) <= thr;
                    if (flat)
                    {
                        m->group[g] = region;
                        m->queue[qn++] = g;
                    }
                }
            }
            done = qn == 1 || (region_loop(h, m, m->queue, qn) && loop_convex(h, m, first, sf->n));
            if (h->oom)
                return false;
            if (!done)
            {
                for (int k = 1; k < qn; k++)
                    m->group[m->queue[k]] = -1;
                m->loop_count = first;
            }
        }
        if (m->loop_count == first)
        {
            // The seed alone (also when it merged nothing).
            for (int k = 0; k < 3; k++)
            {
                if (!grow(h, (void**)&m->loop, &m->loop_cap, m->loop_count, sizeof *m->loop))
                    return false;
                m->loop[m->loop_count++] = sf->v[k];
            }
        }
        if (!add_poly(h, m, first, m->loop_count - first))
            return false;
    }

    // Corners with fewer than three faces lie on an edge between two faces (collinear leftovers of the
    // thick-plane tolerance): drop them so the polygons have no straight corners. A corner is dropped from
    // both its polygons or from neither, and only when neither falls below three corners and its two
    // neighbours are not already joined by an edge elsewhere (that would pair one edge four times).
    for (int p = 0; p < m->poly_count; p++)
        for (int k = 0; k < m->polys[p].count; k++)
            m->degree[m->loop[m->polys[p].first + k]]++;
    for (int p = 0; p < m->poly_count; p++)
        for (int k = 0; k < m->polys[p].count; k++)
        {
            int v = m->loop[m->polys[p].first + k];
            if (v < 0 || m->degree[v] != 2)
                continue;
            int u = loop_step(m, p, k, -1), w = loop_step(m, p, k, +1);
            int q = -1, qk = -1; // the other polygon, where v sits between w and u
            for (int o = 0; o < m->poly_count && q < 0; o++)
                for (int j = 0; o != p && j < m->polys[o].count; j++)
                    if (m->loop[m->polys[o].first + j] == v)
                    {
                        q = o;
                        qk = j;
                    }
            if (q < 0 || live_count(m, p) <= 3 || live_count(m, q) <= 3 || loop_step(m, q, qk, -1) != w ||
                loop_step(m, q, qk, +1) != u || edge_exists(m, u, w))
                continue;
            m->loop[m->polys[p].first + k] = -1;
            m->loop[m->polys[q].first + qk] = -1;
            m->degree[v] = 0;
        }
    int out = 0;
    for (int p = 0; p < m->poly_count; p++)
    {
        poly* pg = &m->polys[p];
        int first = out;
        for (int k = 0; k < pg->count; k++)
        {
            int v = m->loop[pg->first + k];
            if (v >= 0)
                m->loop[out++] = v;
        }
        pg->first = first;
        pg->count = out - first;
    }
    m->loop_count = out;
    return true;
}

// --- packing ---------------------------------------------------------------------------------------

static size_t align8(size_t x)
{
    return (x + 7) & ~(size_t)7;
}

sh_hull* sh_hull_alloc(int vertex_count, int face_count, int edge_count, int index_count)
{
    size_t off_v = align8(sizeof(sh_hull));
    size_t off_f = align8(off_v + (size_t)vertex_count * sizeof(vec3));
    size_t off_e = align8(off_f + (size_t)face_count * sizeof(sh_hull_face));
    size_t off_i = align8(off_e + (size_t)edge_count * sizeof(sh_hull_edge));
    size_t bytes = off_i + (size_t)index_count * sizeof(uint16_t);
    char* block = sh_alloc_zeroed(bytes);
    if (block == NULL)
        return NULL;
    sh_hull* hull = (sh_hull*)block;
    hull->vertex_count = vertex_count;
    hull->face_count = face_count;
    hull->edge_count = edge_count;
    hull->index_count = index_count;
    hull->vertices = (vec3*)(block + off_v);
    hull->faces = (sh_hull_face*)(block + off_f);
    hull->edges = (sh_hull_edge*)(block + off_e);
    hull->face_indices = (uint16_t*)(block + off_i);
    hull->bytes = bytes;
    return hull;
}

static bool pack_hull(qh* h, merge_state* m, sh_hull** out, sh_error* err)
{
    int vcount = 0;
    for (int i = 0; i < h->n; i++)
        m->remap[i] = -1;
    for (int k = 0; k < m->loop_count; k++)
        if (m->remap[m->loop[k]] < 0)
            m->remap[m->loop[k]] = vcount++;

    // Edges: pair every polygon half-edge with its twin; a closed convex surface has exactly two per edge.
    int hn = m->loop_count;
    m->hes = sh_alloc((size_t)hn * sizeof *m->hes);
    if (m->hes == NULL)
        return sh_error_set(err, "hull: out of memory");
    int k = 0;
    for (int p = 0; p < m->poly_count; p++)
        for (int i = 0; i < m->polys[p].count; i++)
        {
            int a = m->remap[m->loop[m->polys[p].first + i]];
            int b = m->remap[m->loop[m->polys[p].first + (i + 1) % m->polys[p].count]];
            m->hes[k++] = (half_edge){a < b ? a : b, a < b ? b : a, a, b, p};
        }
    qsort(m->hes, (size_t)hn, sizeof *m->hes, cmp_half_edge);
    int ecount = hn / 2;
    if (hn % 2 != 0 || vcount - ecount + m->poly_count != 2 || vcount > 65535 || hn > 65535)
    {
        h->broken = true;
        return sh_error_set(err, "hull construction failed (degenerate input)");
    }
    for (int e = 0; e < hn; e += 2)
    {
        const half_edge *x = &m->hes[e], *y = &m->hes[e + 1];
        if (x->lo != y->lo || x->hi != y->hi || x->a != y->b || x->face == y->face ||
            (e + 2 < hn && m->hes[e + 2].lo == x->lo && m->hes[e + 2].hi == x->hi))
        {
            h->broken = true;
            return sh_error_set(err, "hull construction failed (degenerate input)");
        }
    }

    sh_hull* hull = sh_hull_alloc(vcount, m->poly_count, ecount, hn);
    if (hull == NULL)
        return sh_error_set(err, "hull: out of memory");
    for (int i = 0; i < h->n; i++)
        if (m->remap[i] >= 0)
            for (int c = 0; c < 3; c++)
                hull->vertices[m->remap[i]][c] = (float)h->p[i][c];
    int idx = 0;
    for (int p = 0; p < m->poly_count; p++)
    {
        const poly* pg = &m->polys[p];
        // Newell's normal: the area-weighted normal of the polygon, exact for planar loops and a best fit
        // for the nearly planar ones merging accepted.
        double nrm[3] = {0, 0, 0};
        for (int i = 0; i < pg->count; i++)
        {
            const double* a = h->p[m->loop[pg->first + i]];
            const double* b = h->p[m->loop[pg->first + (i + 1) % pg->count]];
            nrm[0] += (a[1] - b[1]) * (a[2] + b[2]);
            nrm[1] += (a[2] - b[2]) * (a[0] + b[0]);
            nrm[2] += (a[0] - b[0]) * (a[1] + b[1]);
        }
        double len = sqrt(dot3(nrm, nrm));
        if (!(len > 0))
        {
            sh_free(hull, hull->bytes);
            h->broken = true;
            return sh_error_set(err, "hull construction failed (degenerate face)");
        }
        sh_hull_face* f = &hull->faces[p];
        for (int c = 0; c < 3; c++)
            f->normal[c] = (float)(nrm[c] / len);
        // Verify before trusting: every hull vertex below the face's plane through its outermost corner, its
        // corners near that plane and convex, within 2·tol; the points that are not vertices within 10·tol
        // (measured: a thin face's plane, tilted by its corners' rounding, can pass up to ~9·tol below a
        // discarded point when the shape is ~300× thinner than long; otherwise < 1·tol). A failure means
        // the input folded the construction; the caller then retries with a larger tolerance. The stored
        // offset is the hull's support along the normal (its furthest vertex), so no vertex ever pokes out of
        // a face plane (the SAT would report a false separation).
        double nn[3] = {nrm[0] / len, nrm[1] / len, nrm[2] / len}, own = -DBL_MAX, own_min = DBL_MAX;
        for (int i = 0; i < pg->count; i++)
        {
            double d = dot3(nn, h->p[m->loop[pg->first + i]]);
            own = fmax(own, d);
            own_min = fmin(own_min, d);
        }
        double support = -DBL_MAX, highest = -DBL_MAX;
        for (int i = 0; i < h->n; i++)
        {
            double d = dot3(nn, h->p[i]);
            if (m->remap[i] >= 0)
                support = fmax(support, d);
            else
                highest = fmax(highest, d);
        }
        // Convex corners too: no corner more than 2·tol outside the line joining its neighbours.
        double reflex = 0;
        for (int i = 0; i < pg->count; i++)
        {
            const double* a = h->p[m->loop[pg->first + i]];
            const double* b = h->p[m->loop[pg->first + (i + 1) % pg->count]];
            const double* c = h->p[m->loop[pg->first + (i + 2) % pg->count]];
            double ac[3], ab[3], x[3];
            sub3(c, a, ac);
            sub3(b, a, ab);
            cross3(ab, ac, x); // along +n when b is a convex corner
            double len_ac = sqrt(dot3(ac, ac));
            if (len_ac > 0)
                reflex = fmax(reflex, -dot3(x, nn) / len_ac);
        }
        if (support - own > 2 * h->tol || highest - own > 10 * h->tol || own - own_min > 2 * h->tol ||
            reflex > 2 * h->tol)
        {
            sh_free(hull, hull->bytes);
            h->broken = true;
            return sh_error_set(err, "hull construction failed (input too degenerate)");
        }
        f->offset = (float)support;
        f->first = (uint16_t)idx;
        f->count = (uint16_t)pg->count;
        for (int i = 0; i < pg->count; i++)
            hull->face_indices[idx++] = (uint16_t)m->remap[m->loop[pg->first + i]];
    }
    for (int e = 0; e < ecount; e++)
    {
        const half_edge *x = &m->hes[2 * e], *y = &m->hes[2 * e + 1];
        // The polygon whose CCW loop runs v0 -> v1 has its interior on the left of that direction.
        const half_edge* fwd = x->a == x->lo ? x : y;
        const half_edge* rev = fwd == x ? y : x;
        hull->edges[e] =
            (sh_hull_edge){(uint16_t)fwd->a, (uint16_t)fwd->b, (uint16_t)fwd->face, (uint16_t)rev->face};
        // A convex edge turns from face_a's normal to face_b's about +(v1 - v0): the Gauss-map arc the SAT
        // prunes with. A reversed arc is a fold (a concave edge, seen on shapes far thinner than long);
        // faces parallel to float precision have no arc to get wrong.
        const float *na = hull->faces[fwd->face].normal, *nb = hull->faces[rev->face].normal;
        const float *p0 = hull->vertices[fwd->a], *p1 = hull->vertices[fwd->b];
        double arc[3] = {(double)na[1] * nb[2] - (double)na[2] * nb[1],
                         (double)na[2] * nb[0] - (double)na[0] * nb[2],
                         (double)na[0] * nb[1] - (double)na[1] * nb[0]};
        double d[3] = {(double)p1[0] - p0[0], (double)p1[1] - p0[1], (double)p1[2] - p0[2]};
        if (dot3(arc, arc) > 1e-12 && dot3(arc, d) <= 0)
        {
            sh_free(hull, hull->bytes);
            h->broken = true;
            return sh_error_set(err, "hull construction failed (input too degenerate)");
        }
    }
    for (int c = 0; c < 3; c++)
        hull->aabb_min[c] = hull->aabb_max[c] = hull->vertices[0][c];
    for (int i = 1; i < vcount; i++)
        for (int c = 0; c < 3; c++)
        {
            hull->aabb_min[c] = fminf(hull->aabb_min[c], hull->vertices[i][c]);
            hull->aabb_max[c] = fmaxf(hull->aabb_max[c], hull->vertices[i][c]);
        }
    if (!sh_hull_mass(hull, &hull->mass, err))
    {
        sh_free(hull, hull->bytes);
        return false;
    }
    *out = hull;
    return true;
}

bool sh_hull_mass(const sh_hull* hull, sh_mass_props* out, sh_error* err)
{
    // Fan-triangulate each convex face from its first corner; the faces are closed and outward.
    int tris = hull->index_count - 2 * hull->face_count;
    uint32_t* idx = sh_alloc((size_t)tris * 3 * sizeof *idx);
    if (idx == NULL)
        return sh_error_set(err, "hull: out of memory");
    int t = 0;
    for (int f = 0; f < hull->face_count; f++)
    {
        const uint16_t* fi = hull->face_indices + hull->faces[f].first;
        for (int k = 1; k + 1 < hull->faces[f].count; k++)
        {
            idx[3 * t] = fi[0];
            idx[3 * t + 1] = fi[k];
            idx[3 * t + 2] = fi[k + 1];
            t++;
        }
    }
    bool ok = sh_mass_from_triangles(&hull->vertices[0][0], idx, t, out, err);
    sh_free(idx, (size_t)tris * 3 * sizeof *idx);
    return ok;
}

// One quickhull + merge + pack at tolerance tol. Returns true on success; on failure *retry says whether a
// larger tolerance may succeed (the input was too degenerate at this one).
static bool build_attempt(const float* xyz, int point_count, double tol_scale, sh_hull** out, bool* retry,
                          sh_error* err)
{
    qh h = {0};
    merge_state m = {0};
    bool ok = false;
    *retry = false;
    h.n = point_count;
    h.p = sh_alloc((size_t)point_count * sizeof *h.p);
    h.next = sh_alloc((size_t)point_count * sizeof *h.next);
    if (h.p == NULL || h.next == NULL)
    {
        sh_error_set(err, "hull: out of memory");
        goto done;
    }
    for (int i = 0; i < point_count; i++)
    {
        for (int c = 0; c < 3; c++)
            h.p[i][c] = xyz[3 * i + c];
        h.next[i] = -1;
    }
    h.tol = hull_tolerance(&h) * tol_scale;
    if (!initial_simplex(&h, err))
        goto done;
    while (h.work_count > 0 && !h.oom && !h.broken)
    {
        int f = h.work[--h.work_count];
        if (h.faces[f].alive && h.faces[f].outside >= 0)
        {
            add_point(&h, f);
            // The face keeps whatever outside points remain (it is dead if the eye saw it, in which
            // case they moved on); re-queue it if alive so its remaining points are handled.
            if (h.faces[f].alive && h.faces[f].outside >= 0)
                push_work(&h, f);
        }
    }
    if (h.oom)
    {
        sh_error_set(err, "hull: out of memory");
        goto done;
    }
    if (h.broken)
    {
        *retry = true;
        sh_error_set(err, "hull construction failed (degenerate input)");
        goto done;
    }
    if (!merge_faces(&h, &m))
    {
        sh_error_set(err, "hull: out of memory");
        goto done;
    }
    ok = pack_hull(&h, &m, out, err);
    *retry = !ok && h.broken;
done:
    merge_free(&h, &m, h.face_count);
    sh_free(h.p, (size_t)point_count * sizeof *h.p);
    sh_free(h.next, (size_t)point_count * sizeof *h.next);
    sh_free(h.faces, (size_t)h.face_cap * sizeof *h.faces);
    sh_free(h.visible, (size_t)h.visible_cap * sizeof *h.visible);
    sh_free(h.horizon, (size_t)h.horizon_cap * sizeof *h.horizon);
    sh_free(h.work, (size_t)h.work_cap * sizeof *h.work);
    return ok;
}

bool sh_hull_build(const float* xyz, int point_count, sh_hull** out, sh_error* err)
{
    *out = NULL;
    if (point_count > SH_HULL_MAX_POINTS)
        return sh_error_set(err, "hull input has %d points (at most %d allowed)", point_count,
                            SH_HULL_MAX_POINTS);
    if (point_count < 4)
        return sh_error_set(err, "hull needs at least 4 non-coplanar points (got %d points)", point_count);
    for (int i = 0; i < 3 * point_count; i++)
        if (!isfinite(xyz[i]))
            return sh_error_set(err, "hull input point %d is not finite (NaN or infinity)", i / 3 + 1);
    // Clean input (every generated shape, meshes from modelling tools) succeeds at the base tolerance.
    // Points scattered within a few tolerances of a plane can fold the construction; each retry widens the
    // tolerance 4× (at most 256×, 0.26 % of the extent), absorbing the noise into flat faces.
    double scale = 1;
    sh_error first = {{0}};
    for (int attempt = 0; attempt < 5; attempt++, scale *= 4)
    {
        bool retry = false;
        if (build_attempt(xyz, point_count, scale, out, &retry, attempt == 0 ? err : NULL))
            return true;
        if (attempt == 0 && err != NULL)
            first = *err;
        if (!retry)
            break;
    }
    if (err != NULL)
        *err = first; // the base tolerance's reason: the retries' tolerances are an implementation detail
    return false;
}

void sh_hull_free(sh_hull* hull)
{
    if (hull != NULL)
        sh_free(hull, hull->bytes);
}

sh_hull* sh_hull_clone_shifted(const sh_hull* hull, const vec3 offset)
{
    sh_hull* c = sh_hull_alloc(hull->vertex_count, hull->face_count, hull->edge_count, hull->index_count);
    if (c == NULL)
        return NULL;
    memcpy(c->vertices, hull->vertices, (size_t)hull->vertex_count * sizeof(vec3));
    memcpy(c->faces, hull->faces, (size_t)hull->face_count * sizeof(sh_hull_face));
    memcpy(c->edges, hull->edges, (size_t)hull->edge_count * sizeof(sh_hull_edge));
    memcpy(c->face_indices, hull->face_indices, (size_t)hull->index_count * sizeof(uint16_t));
    c->mass = hull->mass;
    for (int i = 0; i < c->vertex_count; i++)
        for (int k = 0; k < 3; k++)
            c->vertices[i][k] -= offset[k];
    for (int f = 0; f < c->face_count; f++)
    {
        sh_hull_face* face = &c->faces[f];
        face->offset -=
            face->normal[0] * offset[0] + face->normal[1] * offset[1] + face->normal[2] * offset[2];
    }
    for (int k = 0; k < 3; k++)
    {
        c->mass.centroid[k] -= offset[k];
        c->aabb_min[k] = hull->aabb_min[k] - offset[k];
        c->aabb_max[k] = hull->aabb_max[k] - offset[k];
    }
    return c;
}

void sh_box_corners(float hx, float hy, float hz, float out[24])
{
    for (int i = 0; i < 8; i++)
    {
        out[3 * i + 0] = (i & 1) ? hx : -hx;
        out[3 * i + 1] = (i & 2) ? hy : -hy;
        out[3 * i + 2] = (i & 4) ? hz : -hz;
    }
}
