// simhost bench --probe K (bench_probe.h): row by row, how far the tower's cubes moved in and across its
// plane, how they lean (about x, across the wall) and twist (about z), and what their contacts carry: the
// stored (warm-start) normal impulse of the contacts under each row against the weight above it, where
// across the wall that impulse is centred, the friction across the wall, and how many bodies' touching
// points appeared or vanished (manifold churn). Only the public API: the bench's physics is the world's.
#include "bench_probe.h"

#include <cglm/cglm.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

struct sh_bench_probe
{
    int count, rows;
    const sh_body_id* ids;
    const float (*start)[3];
    int* row;       // per body
    int* of_index;  // body id index → position in ids, -1 for others (the ground)
    int index_span; // length of of_index
    int* points;    // touching points per body at the last step
    int churn;      // bodies whose point count changed, summed over the steps since the last print
};

static int row_of(float z)
{
    return z < 0.0f ? 0 : (int)floorf(z);
}

sh_bench_probe* sh_bench_probe_start(const sh_world* w, const sh_body_id* ids, const float (*start)[3],
                                     int count)
{
    sh_bench_probe* p = calloc(1, sizeof *p);
    if (p == NULL)
        return NULL;
    p->count = count;
    p->ids = ids;
    p->start = start;
    int span = 1;
    for (int i = 0; i < count; i++)
        span = ids[i].index + 1 > span ? (int)ids[i].index + 1 : span;
    int n = sh_world_body_count(w);
    for (int i = 0; i < n; i++)
    {
        sh_body_id id = sh_world_body_at(w, i);
        span = id.index + 1 > span ? (int)id.index + 1 : span;
    }
    p->index_span = span;
    p->row = calloc((size_t)(count > 0 ? count : 1), sizeof *p->row);
    p->points = calloc((size_t)(count > 0 ? count : 1), sizeof *p->points);
    p->of_index = malloc((size_t)span * sizeof *p->of_index);
    if (p->row == NULL || p->points == NULL || p->of_index == NULL)
    {
        sh_bench_probe_free(p);
        return NULL;
    }
    for (int i = 0; i < span; i++)
        p->of_index[i] = -1;
    for (int i = 0; i < count; i++)
    {
        p->row[i] = row_of(start[i][2]);
        p->rows = p->row[i] + 1 > p->rows ? p->row[i] + 1 : p->rows;
        p->of_index[ids[i].index] = i;
    }
    return p;
}

static int body_of(const sh_bench_probe* p, sh_body_id id)
{
    return (int)id.index < p->index_span ? p->of_index[id.index] : -1;
}

void sh_bench_probe_step(sh_bench_probe* p, const sh_world* w)
{
    int* now = calloc((size_t)(p->count > 0 ? p->count : 1), sizeof *now);
    if (now == NULL)
        return;
    int n = sh_world_contact_count(w);
    for (int i = 0; i < n; i++)
    {
        sh_contact_info c;
        if (!sh_world_contact_at(w, i, &c))
            continue;
        int a = body_of(p, c.body_a), b = body_of(p, c.body_b);
        if (a >= 0)
            now[a] += c.point_count;
        if (b >= 0)
            now[b] += c.point_count;
    }
    for (int i = 0; i < p->count; i++)
        p->churn += now[i] != p->points[i];
    memcpy(p->points, now, (size_t)p->count * sizeof *now);
    free(now);
}

// Per row: bodies' motion, and the load-bearing contacts under the row (normal within 45° of vertical;
// the upper body's row).
typedef struct row_stats
{
    int cubes, points;
    double dx, dy, tilt, max_tilt, twist, max_twist;
    double weight_above; // Σ m·|g|·dt of this row and every row above it
    double impulse;      // Σ normal impulse of the contacts under the row
    double cop, max_cop; // impulse-weighted centre across the wall (y) from the face's point centre
    double fy;           // Σ friction impulse across the wall
} row_stats;

static void body_pass(const sh_bench_probe* p, const sh_world* w, double gdt, row_stats* r)
{
    for (int i = 0; i < p->count; i++)
    {
        sh_body_state s;
        if (!sh_body_get_state(w, p->ids[i], &s))
            continue;
        row_stats* x = &r[p->row[i]];
        vec3 ex = {1, 0, 0}, ez = {0, 0, 1}, ax, az;
        glm_quat_rotatev(s.orientation, ex, ax);
        glm_quat_rotatev(s.orientation, ez, az);
        double tilt = atan2(-az[1], az[2]), twist = atan2(ax[1], ax[0]);
        x->cubes++;
        x->dx += s.position[0] - p->start[i][0];
        x->dy += s.position[1] - p->start[i][1];
        x->tilt += tilt;
        x->twist += twist;
        x->max_tilt = fmax(x->max_tilt, fabs(tilt));
        x->max_twist = fmax(x->max_twist, fabs(twist));
        for (int k = 0; k <= p->row[i]; k++)
            r[k].weight_above += s.mass * gdt;
    }
}

static void contact_pass(const sh_bench_probe* p, const sh_world* w, row_stats* r, int* touching, int* side)
{
    int n = sh_world_contact_count(w);
    for (int i = 0; i < n; i++)
    {
        sh_contact_info c;
        if (!sh_world_contact_at(w, i, &c))
            continue;
        *touching += c.point_count;
        int a = body_of(p, c.body_a), b = body_of(p, c.body_b);
        if (fabsf(c.normal[2]) < 0.7071f)
        {
            *side += c.point_count;
            continue;
        }
        int ra = a >= 0 ? p->row[a] : -1, rb = b >= 0 ? p->row[b] : -1;
        int row = ra > rb ? ra : rb;
        if (row < 0)
            continue;
        double sum = 0, mean_y = 0, moment = 0, fy = 0;
        for (int k = 0; k < c.point_count; k++)
            mean_y += c.points[k].point_b[1] / c.point_count;
        for (int k = 0; k < c.point_count; k++)
        {
            const sh_contact_point_info* q = &c.points[k];
            sum += q->normal_impulse;
            moment += q->normal_impulse * (q->point_b[1] - mean_y);
            fy += q->friction_impulse_vector[1];
        }
        double cop = sum > 0 ? moment / sum : 0;
        r[row].points += c.point_count;
        r[row].impulse += sum;
        r[row].cop += cop;
        r[row].max_cop = fmax(r[row].max_cop, fabs(cop));
        r[row].fy += fy;
    }
}

void sh_bench_probe_print(sh_bench_probe* p, const sh_world* w, int step, FILE* out)
{
    row_stats* r = calloc((size_t)(p->rows > 0 ? p->rows : 1), sizeof *r);
    if (r == NULL)
        return;
    vec3 g;
    sh_world_get_gravity(w, g);
    body_pass(p, w, glm_vec3_norm(g) / 60.0, r); // the bench steps at 60 Hz
    int touching = 0, side = 0;
    contact_pass(p, w, r, &touching, &side);
    int watch[6] = {0, 1, p->rows / 4, p->rows / 2, 3 * p->rows / 4, p->rows - 1};
    for (int k = 0; k < 6; k++)
    {
        int i = watch[k];
        if (i < 0 || i >= p->rows || (k > 0 && i <= watch[k - 1]) || r[i].cubes == 0)
            continue;
        const row_stats* x = &r[i];
        double n = x->cubes;
        fprintf(out,
                "probe step=%d row=%d cubes=%d dx_m=%.5f dy_m=%.6f tilt_x=%.6f max_tilt_x=%.6f twist_z=%.6f "
                "max_twist_z=%.6f points=%d load=%.4f cop_y_m=%.6f max_cop_y_m=%.6f fy=%.6f\n",
                step, i, x->cubes, x->dx / n, x->dy / n, x->tilt / n, x->max_tilt, x->twist / n, x->max_twist,
                x->points, x->weight_above > 0 ? x->impulse / x->weight_above : 0.0, x->cop / n, x->max_cop,
                x->impulse > 0 ? x->fy / x->impulse : 0.0);
    }
    fprintf(out, "probe step=%d tower points=%d side_points=%d churn=%d\n", step, touching, side, p->churn);
    p->churn = 0;
    free(r);
}

void sh_bench_probe_free(sh_bench_probe* p)
{
    if (p == NULL)
        return;
    free(p->row);
    free(p->of_index);
    free(p->points);
    free(p);
}

// The pyramid is one cube thick and mirror-symmetric across y = 0: every step it keeps that symmetry but
// for rounding, and anything the solver does in a point order that is not mirror-symmetric shows here
// (docs/physics.md, "What breaks the wall's symmetry").
void sh_bench_probe_lean(const sh_world* w, const sh_body_id* ids, const float (*start)[3], int count,
                         int top, int step, FILE* out)
{
    double dy = 0.0, tilt = 0.0, twist = 0.0, top_y = 0.0;
    for (int i = 0; i < count; i++)
    {
        sh_body_state s;
        if (!sh_body_get_state(w, ids[i], &s))
            continue;
        vec3 ex = {1, 0, 0}, ez = {0, 0, 1}, ax, az;
        glm_quat_rotatev(s.orientation, ex, ax);
        glm_quat_rotatev(s.orientation, ez, az);
        dy = fmax(dy, fabs(s.position[1] - start[i][1]));
        tilt = fmax(tilt, fabs(atan2(-az[1], az[2])));
        twist = fmax(twist, fabs(atan2(ax[1], ax[0])));
        if (i == top)
            top_y = s.position[1] - start[i][1];
    }
    fprintf(out, "lean step=%d max_dy_m=%.3e max_tilt_x=%.3e max_twist_z=%.3e top_y_m=%.3e\n", step, dy, tilt,
            twist, top_y);
}
