#include "contact_solver_wide.h"

#include <float.h>
#include <immintrin.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

// The kernels below take and return 64-byte vectors; they are all static and always inlined into one of the
// three entry points, so no call ever crosses an ABI boundary and GCC's note that a 64-byte vector is passed
// differently without AVX does not apply.
#pragma GCC diagnostic ignored "-Wpsabi"

_Static_assert(SH_WIDE == SH_GRAPH_BATCH, "the levels fill batches of the solver's width");

// This file alone at -O3 with loop unrolling: the kernels' short fixed loops (4 points, 3 sweeps, 2
// batches, 8 lanes) then unroll into straight code with the per-point temporaries in registers. Measured
// with perf stat task-clock, 3 runs each: 5050 pyramid 40 steps 1058/1103 ms → 885/874 ms, cluster_drop
// 22.5 → 19.1 ms; `#pragma GCC unroll` on the loops alone did not get it. Same bits: no fast-math.
#pragma GCC optimize("O3", "unroll-loops")

// The velocity rows are the 32 bytes at the start of a solver body (v, w, padding: written back whole),
// the pose rows the 32 bytes from dq (dq, dp, inv_mass: read only). The layout of sh_solver_body they rely
// on:
_Static_assert(offsetof(sh_solver_body, v) == 0 && offsetof(sh_solver_body, w) == 12 &&
                   offsetof(sh_solver_body, dq) == 32 && offsetof(sh_solver_body, dp) == 48 &&
                   sizeof(sh_solver_body) % 32 == 0 && _Alignof(sh_solver_body) == 32,
               "sh_solver_body layout the wide solver loads");

SH_INLINE sh_fw splat(float x)
{
    sh_fw v;
    for (int k = 0; k < SH_WIDE; k++)
        v[k] = x;
    return v;
}

// Lane select, max and min: one blend / max / min instruction on the AVX paths, three or four bitwise
// operations on the baseline (SSE2 has no blend; GCC did not form the AVX ones from the bitwise form:
// perf put the select at 4 % of the 5050 pyramid's step). The same bits either way: every mask is a
// comparison result, all ones or all zeros per lane, which is exactly what BLENDVPS reads (the sign bit),
// and MAXPS / MINPS are defined as a > b ? a : b / a < b ? a : b, the scalar solver's max_f / min_f,
// NaN and signed-zero cases included.
// Vector casts between same-size vector types reinterpret the bits (GCC).
__attribute__((target("avx2,fma"))) static inline void blend_avx(const sh_iw* m, const sh_fw* x,
                                                                 const sh_fw* y, sh_fw* out)
{
    *out = (sh_fw)_mm256_blendv_ps((__m256)*y, (__m256)*x, (__m256)*m);
}

__attribute__((target("avx2,fma"))) static inline void max_avx(const sh_fw* x, const sh_fw* y, sh_fw* out)
{
    *out = (sh_fw)_mm256_max_ps((__m256)*x, (__m256)*y);
}

__attribute__((target("avx2,fma"))) static inline void min_avx(const sh_fw* x, const sh_fw* y, sh_fw* out)
{
    *out = (sh_fw)_mm256_min_ps((__m256)*x, (__m256)*y);
}

_Static_assert(SH_WIDE == 8, "the AVX select, max and min take one ymm register");

// Under AddressSanitizer the pointer-passing calls below make addressable, redzoned stack slots of every
// operand, which made the sanitized solve 2.6 times slower (convex_pile: 99 → 259 ms/step), so that build
// takes the bitwise form: the same bits, as said above.
#if defined(__SANITIZE_ADDRESS__)
#define SH_AVX_SELECT 0
#else
#define SH_AVX_SELECT 1
#endif

SH_INLINE sh_fw sel(sh_iw m, sh_fw x, sh_fw y, bool avx)
{
    if (!avx || !SH_AVX_SELECT)
        return (sh_fw)(((sh_iw)x & m) | ((sh_iw)y & ~m));
    sh_fw r;
    blend_avx(&m, &x, &y, &r);
    return r;
}

// The scalar solver's max_f/min_f (a > b ? a : b), lane-wise, NaN behaviour included.
SH_INLINE sh_fw max8(sh_fw a, sh_fw b, bool avx)
{
    if (!avx || !SH_AVX_SELECT)
        return sel(a > b, a, b, false);
    sh_fw r;
    max_avx(&a, &b, &r);
    return r;
}

SH_INLINE sh_fw min8(sh_fw a, sh_fw b, bool avx)
{
    if (!avx || !SH_AVX_SELECT)
        return sel(a < b, a, b, false);
    sh_fw r;
    min_avx(&a, &b, &r);
    return r;
}

// ---- AVX2 body access: eight 32-byte rows, transposed in registers (3 shuffle stages of 8) ----

__attribute__((target("avx2,fma"))) static inline void transpose8_avx(__m256 r[8])
{
    __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    __m256 s0 = _mm256_shuffle_ps(t0, t2, 0x44), s1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    __m256 s2 = _mm256_shuffle_ps(t1, t3, 0x44), s3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    __m256 s4 = _mm256_shuffle_ps(t4, t6, 0x44), s5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    __m256 s6 = _mm256_shuffle_ps(t5, t7, 0x44), s7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(s0, s4, 0x20);
    r[1] = _mm256_permute2f128_ps(s1, s5, 0x20);
    r[2] = _mm256_permute2f128_ps(s2, s6, 0x20);
    r[3] = _mm256_permute2f128_ps(s3, s7, 0x20);
    r[4] = _mm256_permute2f128_ps(s0, s4, 0x31);
    r[5] = _mm256_permute2f128_ps(s1, s5, 0x31);
    r[6] = _mm256_permute2f128_ps(s2, s6, 0x31);
    r[7] = _mm256_permute2f128_ps(s3, s7, 0x31);
}

// Eight lanes' rows, transposed, into lanes [8 * group, 8 * group + 8) of each column.
__attribute__((target("avx2,fma"))) static inline void put_group(__m256 r[8], int group, sh_fw* out)
{
    transpose8_avx(r);
    for (int c = 0; c < 8; c++)
        memcpy((float*)&out[c] + 8 * group, &r[c], sizeof r[c]);
}

__attribute__((target("avx2,fma"))) static inline void gather_velocity_avx(const sh_solver_body* bodies,
                                                                           const int* index, sh_fw out[8])
{
    for (int g = 0; g < SH_WIDE / 8; g++)
    {
        __m256 r[8];
        for (int k = 0; k < 8; k++)
            r[k] = _mm256_load_ps((const float*)&bodies[index[8 * g + k]]);
        put_group(r, g, out);
    }
}

__attribute__((target("avx2,fma"))) static inline void gather_pose_avx(const sh_solver_body* bodies,
                                                                       const int* index, sh_fw out[8])
{
    for (int g = 0; g < SH_WIDE / 8; g++)
    {
        __m256 r[8];
        for (int k = 0; k < 8; k++)
            r[k] = _mm256_load_ps(bodies[index[8 * g + k]].dq);
        put_group(r, g, out);
    }
}

__attribute__((target("avx2,fma"))) static inline void scatter_avx(sh_solver_body* bodies, const int* index,
                                                                   const sh_fw in[8])
{
    for (int g = 0; g < SH_WIDE / 8; g++)
    {
        __m256 r[8];
        for (int c = 0; c < 8; c++)
            memcpy(&r[c], (const float*)&in[c] + 8 * g, sizeof r[c]);
        transpose8_avx(r);
        for (int k = 0; k < 8; k++)
            _mm256_store_ps((float*)&bodies[index[8 * g + k]], r[k]);
    }
}

// ---- baseline body access: lane by lane ----

SH_INLINE void gather_velocity_scalar(const sh_solver_body* bodies, const int* index, sh_fw out[8])
{
    for (int k = 0; k < SH_WIDE; k++)
    {
        const float* row = (const float*)&bodies[index[k]];
        for (int c = 0; c < 8; c++)
            out[c][k] = row[c];
    }
}

SH_INLINE void gather_pose_scalar(const sh_solver_body* bodies, const int* index, sh_fw out[8])
{
    for (int k = 0; k < SH_WIDE; k++)
    {
        const float* row = bodies[index[k]].dq;
        for (int c = 0; c < 8; c++)
            out[c][k] = row[c];
    }
}

SH_INLINE void scatter_scalar(sh_solver_body* bodies, const int* index, const sh_fw in[8])
{
    for (int k = 0; k < SH_WIDE; k++)
    {
        float* row = (float*)&bodies[index[k]];
        for (int c = 0; c < 6; c++)
            row[c] = in[c][k];
    }
}

// Eight bodies' velocity rows as the kernels read them: one vector of lanes per float of the row, `col` as
// the rows are loaded and transposed, v and w by name.
typedef union sh_wide_velocity {
    sh_fw col[8];
    struct
    {
        sh_fw3 v, w; // then 2 columns of padding
    };
} sh_wide_velocity;

// Eight bodies' pose rows: dq (x, y, z, w), dp, inv_mass.
typedef union sh_wide_pose {
    sh_fw col[8];
    struct
    {
        struct
        {
            sh_fw x, y, z, w;
        } dq;
        sh_fw3 dp;
        sh_fw inv_mass;
    };
} sh_wide_pose;

_Static_assert(sizeof(sh_wide_velocity) == 8 * sizeof(sh_fw) && sizeof(sh_wide_pose) == 8 * sizeof(sh_fw) &&
                   offsetof(sh_wide_velocity, w) == 3 * sizeof(sh_fw) &&
                   offsetof(sh_wide_pose, dp) == 4 * sizeof(sh_fw) &&
                   offsetof(sh_wide_pose, inv_mass) == 7 * sizeof(sh_fw),
               "the named columns are the rows' floats in order");

SH_INLINE void gather_velocity(const sh_solver_body* bodies, const int* index, sh_wide_velocity* out,
                               bool avx)
{
    if (avx)
        gather_velocity_avx(bodies, index, out->col);
    else
        gather_velocity_scalar(bodies, index, out->col);
}

SH_INLINE void gather_pose(const sh_solver_body* bodies, const int* index, sh_wide_pose* out, bool avx)
{
    if (avx)
        gather_pose_avx(bodies, index, out->col);
    else
        gather_pose_scalar(bodies, index, out->col);
}

SH_INLINE void scatter_velocity(sh_solver_body* bodies, const int* index, const sh_wide_velocity* in,
                                bool avx)
{
    if (avx)
        scatter_avx(bodies, index, in->col);
    else
        scatter_scalar(bodies, index, in->col);
}

__attribute__((target("avx2,fma"))) static inline void sqrt_avx(const sh_fw* in, sh_fw* out)
{
    for (int g = 0; g < SH_WIDE / 8; g++)
    {
        __m256 x;
        memcpy(&x, (const float*)in + 8 * g, sizeof x);
        x = _mm256_sqrt_ps(x);
        memcpy((float*)out + 8 * g, &x, sizeof x);
    }
}

SH_INLINE sh_fw sqrt8(sh_fw x, bool avx)
{
    sh_fw r;
    if (avx)
        sqrt_avx(&x, &r);
    else
        for (int k = 0; k < SH_WIDE; k++)
            r[k] = __builtin_sqrtf(x[k]);
    return r;
}

// ---- the scalar solver's formulas, lane-wise (contact_solver.c: row_vel, row_apply, quat_rotate) ----

SH_INLINE sh_fw row_vel8(const sh_wide_velocity* A, const sh_wide_velocity* B, const sh_wide_row* r,
                         const sh_fw3* d)
{
    return (B->v.x - A->v.x) * d->x + (B->v.y - A->v.y) * d->y + (B->v.z - A->v.z) * d->z +
           (B->w.x * r->jb.x + B->w.y * r->jb.y + B->w.z * r->jb.z) -
           (A->w.x * r->ja.x + A->w.y * r->ja.y + A->w.z * r->ja.z);
}

SH_INLINE void row_apply8(sh_wide_velocity* A, sh_wide_velocity* B, sh_fw ma, sh_fw mb, const sh_wide_row* r,
                          const sh_fw3* d, sh_fw p)
{
    const sh_fw pa = ma * p, pb = mb * p;
    A->v.x -= pa * d->x;
    A->w.x -= p * r->ka.x;
    B->v.x += pb * d->x;
    B->w.x += p * r->kb.x;
    A->v.y -= pa * d->y;
    A->w.y -= p * r->ka.y;
    B->v.y += pb * d->y;
    B->w.y += p * r->kb.y;
    A->v.z -= pa * d->z;
    A->w.z -= p * r->ka.z;
    B->v.z += pb * d->z;
    B->w.z += p * r->kb.z;
}

SH_INLINE sh_fw3 quat_rotate8(const sh_wide_pose* P, const sh_fw3* v)
{
    const sh_fw qx = P->dq.x, qy = P->dq.y, qz = P->dq.z, qw = P->dq.w;
    sh_fw tx = 2.0f * (qy * v->z - qz * v->y);
    sh_fw ty = 2.0f * (qz * v->x - qx * v->z);
    sh_fw tz = 2.0f * (qx * v->y - qy * v->x);
    return (sh_fw3){.x = v->x + qw * tx + (qy * tz - qz * ty),
                    .y = v->y + qw * ty + (qz * tx - qx * tz),
                    .z = v->z + qw * tz + (qx * ty - qy * tx)};
}

// a × d (glm_vec3_cross).
SH_INLINE sh_fw3 cross8(const sh_fw3* a, const sh_fw3* d)
{
    return (sh_fw3){
        .x = a->y * d->z - a->z * d->y, .y = a->z * d->x - a->x * d->z, .z = a->x * d->y - a->y * d->x};
}

// m j for m by its columns (glm_mat3_mulv).
SH_INLINE sh_fw3 mat_mul8(const sh_fw3 m[3], const sh_fw3* j)
{
    return (sh_fw3){.x = m[0].x * j->x + m[1].x * j->y + m[2].x * j->z,
                    .y = m[0].y * j->x + m[1].y * j->y + m[2].y * j->z,
                    .z = m[0].z * j->x + m[1].z * j->y + m[2].z * j->z};
}

// make_row of contact_solver.c: ja = ra × d, jb = rb × d, ka = I_A⁻¹ ja, kb = I_B⁻¹ jb, the same
// operations in the same order, so the same bits.
SH_INLINE void make_row8(const sh_wide_constraint* c, const sh_wide_point* p, const sh_fw3* d, sh_wide_row* r)
{
    r->ja = cross8(&p->ra, d);
    r->jb = cross8(&p->rb, d);
    r->ka = mat_mul8(c->inv_i_a, &r->ja);
    r->kb = mat_mul8(c->inv_i_b, &r->jb);
}

// Point j's row r (0 normal, 1 and 2 tangents): from the batch's row cache when the solver keeps one
// (sh_wide_solver.rows), else built into tmp.
#define ROWS_PER_BATCH (SH_MAX_MANIFOLD_POINTS * 3)
SH_INLINE const sh_wide_row* get_row(const sh_wide_constraint* c, int j, int r, const sh_wide_row* cached,
                                     sh_wide_row* tmp)
{
    if (cached != NULL)
        return cached + (j * 3 + r);
    make_row8(c, &c->points[j], r == 0 ? &c->normal : r == 1 ? &c->t1 : &c->t2, tmp);
    return tmp;
}

SH_INLINE sh_fw separation8(const sh_wide_pose* PA, const sh_wide_pose* PB, const sh_wide_point* p,
                            const sh_fw3* n)
{
    sh_fw3 pa = quat_rotate8(PA, &p->ra), pb = quat_rotate8(PB, &p->rb);
    sh_fw d0 = PB->dp.x - PA->dp.x + pb.x - pa.x;
    sh_fw d1 = PB->dp.y - PA->dp.y + pb.y - pa.y;
    sh_fw d2 = PB->dp.z - PA->dp.z + pb.z - pa.z;
    return d0 * n->x + d1 * n->y + d2 * n->z + p->base_separation;
}

SH_INLINE void warm_start_batch(sh_wide_constraint* c, sh_solver_body* bodies, const sh_wide_row* cached,
                                bool avx)
{
    sh_wide_velocity A, B;
    gather_velocity(bodies, c->a, &A, avx);
    gather_velocity(bodies, c->b, &B, avx);
    for (int j = 0; j < SH_MAX_MANIFOLD_POINTS; j++)
    {
        const sh_wide_point* p = &c->points[j];
        sh_wide_row tmp;
        const sh_wide_row* row = get_row(c, j, 0, cached, &tmp);
        row_apply8(&A, &B, c->inv_mass_a, c->inv_mass_b, row, &c->normal, p->normal_impulse);
        row = get_row(c, j, 1, cached, &tmp);
        row_apply8(&A, &B, c->inv_mass_a, c->inv_mass_b, row, &c->t1, p->tangent_impulse[0]);
        row = get_row(c, j, 2, cached, &tmp);
        row_apply8(&A, &B, c->inv_mass_a, c->inv_mass_b, row, &c->t2, p->tangent_impulse[1]);
    }
    scatter_velocity(bodies, c->a, &A, avx);
    scatter_velocity(bodies, c->b, &B, avx);
}

// contact_solver.c's closing_accel, lane-wise: gravity's normal acceleration closing the gap.
SH_INLINE sh_fw closing_accel8(const sh_wide_constraint* c, const float* g, bool avx)
{
    const sh_fw zero = splat(0.0f), one = splat(1.0f);
    const sh_fw gn = g[0] * c->normal.x + g[1] * c->normal.y + g[2] * c->normal.z;
    const sh_fw ga = sel(c->inv_mass_a > zero, one, zero, avx),
                gb = sel(c->inv_mass_b > zero, one, zero, avx);
    return -(gb - ga) * gn;
}

// contact_solver.c's time_to_touch, lane-wise; FLT_MAX for a lane past its point count.
SH_INLINE sh_fw time_to_touch8(sh_fw vn, sh_fw sep, sh_fw accel, sh_iw valid, bool avx)
{
    const sh_fw zero = splat(0.0f), one = splat(1.0f), never = splat(FLT_MAX);
    const sh_fw u = -vn;
    const sh_fw disc = u * u + 2.0f * accel * sep;
    const sh_fw den = sqrt8(max8(disc, zero, avx), avx) + u;
    const sh_iw reach = (disc >= zero) & (den > zero);
    const sh_fw t = sel(reach, 2.0f * sep / sel(reach, den, one, avx), never, avx);
    return sel(valid, sel(sep > zero, t, zero, avx), never, avx);
}

// sh_contact_solver_approach on eight constraints. The scalar one skips constraints that have pushed; here
// a batch whose lanes all have is skipped, and the others record every lane (an active lane's value is
// never read again: restitution takes it only when a constraint first pushes).
SH_INLINE void approach_batch(sh_wide_constraint* c, const sh_solver_body* bodies, const sh_wide_row* cached,
                              bool avx)
{
    bool all_active = true;
    for (int k = 0; k < SH_WIDE; k++)
        all_active = all_active && c->active[k] != 0;
    if (all_active)
        return;
    sh_wide_velocity A, B;
    gather_velocity(bodies, c->a, &A, avx);
    gather_velocity(bodies, c->b, &B, avx);
    for (int j = 0; j < SH_MAX_MANIFOLD_POINTS; j++)
    {
        sh_wide_row tmp;
        const sh_wide_row* row = get_row(c, j, 0, cached, &tmp);
        c->points[j].approach_velocity = row_vel8(&A, &B, row, &c->normal);
    }
}

// solve_one of contact_solver.c on eight constraints (see the comments there for the why of each step), for
// nb (1 or 2, a constant after inlining) batches of one level at once. Each point's update is a chain of
// dependent operations (velocity → impulse → clamp → apply, then the next point), so one batch leaves
// the core waiting on latencies; two independent batches interleaved fill those gaps. Batches of one
// level share no body, so the result is the same as one after the other.
// A biased pass again (reuse) runs as the SH_WIDE_BIASED instance with a run-time flag: a fourth
// instance made solve_avx512 so large that the sanitized build fell back to out-of-line checks on every
// vector access (6304 __asan_loadN/storeN calls, memcheck 170 → 515 s).
SH_INLINE void solve_batches(sh_wide_constraint* const* cs, int nb, sh_solver_body* bodies, float inv_h,
                             float push_max, sh_wide_pass pass, bool reuse, bool reverse,
                             const sh_wide_row* const* cached, bool avx)
{
    enum
    {
        NP = SH_MAX_MANIFOLD_POINTS
    };
    sh_wide_velocity A[2], B[2];
    sh_wide_pose PA[2], PB[2];
    sh_fw bias[2][NP], mass_scale[2][NP], impulse_scale[2][NP];
    sh_wide_row nrow_tmp[2][NP];
    const sh_wide_row* nrow[2][NP];
    bool all_active[2];
    sh_iw pushed[2];
    const sh_fw zero = splat(0.0f), one = splat(1.0f);
    for (int q = 0; q < nb; q++)
    {
        sh_wide_constraint* c = cs[q];
        gather_velocity(bodies, c->a, &A[q], avx);
        gather_velocity(bodies, c->b, &B[q], avx);
        // Once every lane has pushed (a resting pile: from the first pass on) the impact speeds are settled.
        all_active[q] = true;
        for (int k = 0; k < SH_WIDE; k++)
            all_active[q] = all_active[q] && c->active[k] != 0;
        const bool again = reuse || pass == SH_WIDE_RELAX_AGAIN;
        if (!again)
        {
            gather_pose(bodies, c->a, &PA[q], avx);
            gather_pose(bodies, c->b, &PB[q], avx);
        }
        for (int j = 0; j < NP; j++)
        {
            const sh_wide_point* p = &c->points[j];
            nrow[q][j] = get_row(c, j, 0, cached[q], &nrow_tmp[q][j]);
            mass_scale[q][j] = one;
            impulse_scale[q][j] = zero;
            if (pass == SH_WIDE_RELAX_AGAIN)
            {
                bias[q][j] = c->same_pose[j];
                continue;
            }
            sh_fw sep = again ? c->same_pose[j] : separation8(&PA[q], &PB[q], p, &c->normal);
            const sh_iw spec = sep > zero;
            bias[q][j] = sel(spec, sep * inv_h, zero, avx);
            if (pass == SH_WIDE_BIASED)
            {
                if (!again)
                    c->same_pose[j] = sep;
                sh_fw soft = max8(c->bias_rate * sep, splat(-push_max), avx);
                bias[q][j] = sel(spec, bias[q][j], soft, avx);
                mass_scale[q][j] = sel(spec, one, c->mass_scale, avx);
                impulse_scale[q][j] = sel(spec, zero, c->impulse_scale, avx);
            }
            else
                c->same_pose[j] = bias[q][j];
        }
        pushed[q] = (sh_iw){0};
    }
    const int last = NP - 1;
    for (int sweep = 0; sweep < SH_INNER; sweep++)
        for (int jj = 0; jj < NP; jj++)
        {
            const int j = reverse ? last - jj : jj;
            for (int q = 0; q < nb; q++)
            {
                sh_wide_constraint* c = cs[q];
                sh_wide_point* p = &c->points[j];
                sh_fw vn = row_vel8(&A[q], &B[q], nrow[q][j], &c->normal);
                sh_fw imp = -p->normal_mass * mass_scale[q][j] * (vn + bias[q][j]) -
                            impulse_scale[q][j] * p->normal_impulse;
                sh_fw next = max8(p->normal_impulse + imp, zero, avx);
                imp = next - p->normal_impulse;
                pushed[q] |= imp > zero;
                p->normal_impulse = next;
                p->max_normal_impulse = max8(p->max_normal_impulse, imp, avx);
                row_apply8(&A[q], &B[q], c->inv_mass_a, c->inv_mass_b, nrow[q][j], &c->normal, imp);
            }
        }
    for (int q = 0; q < nb; q++)
    {
        sh_wide_constraint* c = cs[q];
        if (!all_active[q])
        {
            const sh_iw newly = pushed[q] & ~c->active;
            for (int j = 0; j < NP; j++)
            {
                sh_wide_point* p = &c->points[j];
                p->relative_velocity = sel(newly, min8(p->relative_velocity, p->approach_velocity, avx),
                                           p->relative_velocity, avx);
            }
        }
        c->active |= pushed[q];
    }
    for (int jj = 0; jj < NP; jj++)
    {
        const int j = reverse ? last - jj : jj;
        for (int q = 0; q < nb; q++)
        {
            sh_wide_constraint* c = cs[q];
            sh_wide_point* p = &c->points[j];
            sh_wide_row t1_tmp, t2_tmp;
            const sh_wide_row* r1 = get_row(c, j, 1, cached[q], &t1_tmp);
            const sh_wide_row* r2 = get_row(c, j, 2, cached[q], &t2_tmp);
            sh_fw v1 = row_vel8(&A[q], &B[q], r1, &c->t1), v2 = row_vel8(&A[q], &B[q], r2, &c->t2);
            sh_fw n1 = p->tangent_impulse[0] - p->tangent_mass[0] * v1;
            sh_fw n2 = p->tangent_impulse[1] - p->tangent_mass[1] * v2;
            sh_fw lim = c->friction * p->normal_impulse;
            sh_fw len2 = n1 * n1 + n2 * n2;
            const sh_iw over = len2 > lim * lim;
            // Lanes under the limit take a scale of 1 (a square root of 1, never of 0 or of an unused lane).
            sh_fw sc = sel(over, lim / sqrt8(sel(over, len2, one, avx), avx), one, avx);
            n1 = sel(over, n1 * sc, n1, avx);
            n2 = sel(over, n2 * sc, n2, avx);
            row_apply8(&A[q], &B[q], c->inv_mass_a, c->inv_mass_b, r1, &c->t1, n1 - p->tangent_impulse[0]);
            row_apply8(&A[q], &B[q], c->inv_mass_a, c->inv_mass_b, r2, &c->t2, n2 - p->tangent_impulse[1]);
            p->tangent_impulse[0] = n1;
            p->tangent_impulse[1] = n2;
        }
    }
    for (int q = 0; q < nb; q++)
    {
        scatter_velocity(bodies, cs[q]->a, &A[q], avx);
        scatter_velocity(bodies, cs[q]->b, &B[q], avx);
    }
}

// residual_one of contact_solver.c, lane-wise; the per-lane maximum is taken in the caller's order-free max.
SH_INLINE void residual_batch(const sh_wide_constraint* c, const sh_solver_body* bodies, const bool* skip,
                              float* worst, bool avx)
{
    sh_wide_velocity A, B;
    sh_wide_pose PA, PB;
    gather_velocity(bodies, c->a, &A, avx);
    gather_velocity(bodies, c->b, &B, avx);
    gather_pose(bodies, c->a, &PA, avx);
    gather_pose(bodies, c->b, &PB, avx);
    const sh_fw zero = splat(0.0f);
    sh_iw abs_mask;
    for (int k = 0; k < SH_WIDE; k++)
        abs_mask[k] = 0x7fffffff;
    for (int j = 0; j < SH_MAX_MANIFOLD_POINTS; j++)
    {
        const sh_wide_point* p = &c->points[j];
        sh_wide_row row;
        make_row8(c, p, &c->normal, &row);
        sh_fw vn = row_vel8(&A, &B, &row, &c->normal);
        sh_fw sep = separation8(&PA, &PB, p, &c->normal);
        sh_fw err = sel(p->normal_impulse > zero, (sh_fw)((sh_iw)vn & abs_mask),
                        sel(sep < zero, max8(-vn, zero, avx), zero, avx), avx);
        for (int k = 0; k < SH_WIDE; k++)
            if (c->index[k] >= 0 && j < c->point_count[k] && (skip == NULL || !skip[c->index[k]]))
                *worst = max_f(*worst, err[k]);
    }
}

// The rest of prepare_one (make_row's effective masses, the impact speed with its speculative correction),
// lane-wise with the same formulas and operation order; p->relative_velocity holds the manifold
// separation on entry. Points past a lane's point count keep zero masses (they must never push).
SH_INLINE void finish_batch(sh_wide_constraint* c, const sh_solver_body* bodies, const float* gravity,
                            float dt, bool avx)
{
    sh_wide_velocity A, B;
    gather_velocity(bodies, c->a, &A, avx);
    gather_velocity(bodies, c->b, &B, avx);
    const sh_fw zero = splat(0.0f), one = splat(1.0f);
    const sh_fw ma = c->inv_mass_a, mb = c->inv_mass_b;
    const sh_fw accel = closing_accel8(c, gravity, avx);
    sh_fw rv[SH_MAX_MANIFOLD_POINTS], first = splat(dt);
    sh_iw count;
    for (int k = 0; k < SH_WIDE; k++)
        count[k] = c->point_count[k];
    for (int j = 0; j < SH_MAX_MANIFOLD_POINTS; j++)
    {
        sh_wide_point* p = &c->points[j];
        const sh_iw valid = count > j;
        sh_fw mass[3];
        sh_wide_row nrow;
        for (int r = 0; r < 3; r++)
        {
            sh_wide_row tmp;
            const sh_wide_row* row = get_row(c, j, r, NULL, r == 0 ? &nrow : &tmp);
            sh_fw k = ma + mb + (row->ja.x * row->ka.x + row->ja.y * row->ka.y + row->ja.z * row->ka.z) +
                      (row->jb.x * row->kb.x + row->jb.y * row->kb.y + row->jb.z * row->kb.z);
            mass[r] = sel(valid & (k > zero), one / sel(k > zero, k, one, avx), zero, avx);
        }
        p->normal_mass = mass[0];
        p->tangent_mass[0] = mass[1];
        p->tangent_mass[1] = mass[2];
        rv[j] = row_vel8(&A, &B, &nrow, &c->normal);
        first = min8(first, time_to_touch8(rv[j], p->relative_velocity, accel, valid, avx), avx);
    }
    for (int j = 0; j < SH_MAX_MANIFOLD_POINTS; j++)
        c->points[j].relative_velocity = sel(count > j, rv[j] - accel * first, zero, avx);
}

// ---- the three instantiations ----

// The body of each solve instantiation: the batches in order, two at a time where they share no body
// (pair_next, link_pairs), else one alone. A level's batches never share a body; the last one of a level
// and the first of the next usually do not either, and then running them interleaved is exact too: the
// second's constraints come after the earlier batches of the first's level, which are done, and touch none
// of the first's bodies. (Pairing only inside levels left every level with an odd count, 414 of the 5050
// pyramid's 719, with one batch alone, without the other's work to hide its latencies.)
#define FOR_PAIRS(CALL)                                                                                      \
    for (int i = 0; i < batch_count;)                                                                        \
    {                                                                                                        \
        const int nb = i + 1 < batch_count && pair_next[i] ? 2 : 1;                                          \
        sh_wide_constraint* const cs[2] = {&batches[i], nb == 2 ? &batches[i + 1] : NULL};                   \
        const sh_wide_row* const cr[2] = {rows ? rows + (size_t)i * ROWS_PER_BATCH : NULL,                   \
                                          rows && nb == 2 ? rows + (size_t)(i + 1) * ROWS_PER_BATCH : NULL}; \
        if (nb == 2)                                                                                         \
            CALL(2);                                                                                         \
        else                                                                                                 \
            CALL(1);                                                                                         \
        i += nb;                                                                                             \
    }
// The pass and the sweep direction as constants: each of the six solve_batches instances then has its
// points' order and its pass's branches fixed at compile time, so the per-point temporaries (rows, biases,
// scales) are indexed by constants and stay in registers.
#define SOLVE_DIR(NB, PASS, AVX)                                                                             \
    do                                                                                                       \
    {                                                                                                        \
        if (reverse)                                                                                         \
            solve_batches(cs, NB, bodies, inv_h, push_max, PASS, pass == SH_WIDE_BIASED_AGAIN, true, cr,     \
                          AVX);                                                                              \
        else                                                                                                 \
            solve_batches(cs, NB, bodies, inv_h, push_max, PASS, pass == SH_WIDE_BIASED_AGAIN, false, cr,    \
                          AVX);                                                                              \
    } while (0)
#define SOLVE_CALL(NB, AVX)                                                                                  \
    do                                                                                                       \
    {                                                                                                        \
        if (pass == SH_WIDE_BIASED || pass == SH_WIDE_BIASED_AGAIN)                                          \
            SOLVE_DIR(NB, SH_WIDE_BIASED, AVX);                                                              \
        else if (pass == SH_WIDE_RELAX_FIRST)                                                                \
            SOLVE_DIR(NB, SH_WIDE_RELAX_FIRST, AVX);                                                         \
        else                                                                                                 \
            SOLVE_DIR(NB, SH_WIDE_RELAX_AGAIN, AVX);                                                         \
    } while (0)
#define SOLVE_TRUE(NB)  SOLVE_CALL(NB, true)
#define SOLVE_FALSE(NB) SOLVE_CALL(NB, false)

#define SH_TARGET_AVX2   __attribute__((target("avx2,fma")))
#define SH_TARGET_AVX512 __attribute__((target("avx512f,avx512dq,avx512vl,avx2,fma")))

// Warm start one batch at a time: interleaving two like the solve measured twice as slow (the two batches'
// velocities and rows spill).
static void warm_start_generic(sh_wide_constraint* batches, int count, sh_solver_body* bodies,
                               const sh_wide_row* rows)
{
    for (int i = 0; i < count; i++)
        warm_start_batch(&batches[i], bodies, rows ? rows + (size_t)i * ROWS_PER_BATCH : NULL, false);
}

SH_TARGET_AVX2 static void warm_start_avx2(sh_wide_constraint* batches, int count, sh_solver_body* bodies,
                                           const sh_wide_row* rows)
{
    for (int i = 0; i < count; i++)
        warm_start_batch(&batches[i], bodies, rows ? rows + (size_t)i * ROWS_PER_BATCH : NULL, true);
}

SH_TARGET_AVX512 static void warm_start_avx512(sh_wide_constraint* batches, int count, sh_solver_body* bodies,
                                               const sh_wide_row* rows)
{
    for (int i = 0; i < count; i++)
        warm_start_batch(&batches[i], bodies, rows ? rows + (size_t)i * ROWS_PER_BATCH : NULL, true);
}

static void approach_generic(sh_wide_constraint* batches, int count, const sh_solver_body* bodies,
                             const sh_wide_row* rows)
{
    for (int i = 0; i < count; i++)
        approach_batch(&batches[i], bodies, rows ? rows + (size_t)i * ROWS_PER_BATCH : NULL, false);
}

SH_TARGET_AVX2 static void approach_avx2(sh_wide_constraint* batches, int count, const sh_solver_body* bodies,
                                         const sh_wide_row* rows)
{
    for (int i = 0; i < count; i++)
        approach_batch(&batches[i], bodies, rows ? rows + (size_t)i * ROWS_PER_BATCH : NULL, true);
}

static void solve_generic(sh_wide_constraint* batches, int batch_count, const bool* pair_next,
                          sh_solver_body* bodies, float inv_h, float push_max, sh_wide_pass pass,
                          bool reverse, const sh_wide_row* rows){FOR_PAIRS(SOLVE_FALSE)}

SH_TARGET_AVX2 static void solve_avx2(sh_wide_constraint* batches, int batch_count, const bool* pair_next,
                                      sh_solver_body* bodies, float inv_h, float push_max, sh_wide_pass pass,
                                      bool reverse, const sh_wide_row* rows)
{
    FOR_PAIRS(SOLVE_TRUE)
}

static void finish_generic(sh_wide_constraint* batches, int count, const sh_solver_body* bodies,
                           const float* gravity, float dt)
{
    for (int i = 0; i < count; i++)
        finish_batch(&batches[i], bodies, gravity, dt, false);
}

SH_TARGET_AVX2 static void finish_avx2(sh_wide_constraint* batches, int count, const sh_solver_body* bodies,
                                       const float* gravity, float dt)
{
    for (int i = 0; i < count; i++)
        finish_batch(&batches[i], bodies, gravity, dt, true);
}

static float residual_generic(const sh_wide_constraint* batches, int count, const sh_solver_body* bodies,
                              const bool* skip)
{
    float worst = 0.0f;
    for (int i = 0; i < count; i++)
        residual_batch(&batches[i], bodies, skip, &worst, false);
    return worst;
}

SH_TARGET_AVX2 static float residual_avx2(const sh_wide_constraint* batches, int count,
                                          const sh_solver_body* bodies, const bool* skip)
{
    float worst = 0.0f;
    for (int i = 0; i < count; i++)
        residual_batch(&batches[i], bodies, skip, &worst, true);
    return worst;
}

SH_TARGET_AVX512 static void solve_avx512(sh_wide_constraint* batches, int batch_count, const bool* pair_next,
                                          sh_solver_body* bodies, float inv_h, float push_max,
                                          sh_wide_pass pass, bool reverse, const sh_wide_row* rows)
{
    FOR_PAIRS(SOLVE_TRUE)
}

// ---- setup and hand-back ----

// Lane k of v from a 3-vector.
static void put_lane3(sh_fw3* v, int k, const float* f)
{
    v->x[k] = f[0];
    v->y[k] = f[1];
    v->z[k] = f[2];
}

static void load_lane(sh_wide_constraint* w, int k, const sh_contact_solver* s, const sh_constraint* c,
                      int index, const float* separation)
{
    w->a[k] = c->a;
    w->b[k] = c->b;
    w->index[k] = index;
    w->contact[k] = c->contact;
    w->point_count[k] = c->point_count;
    put_lane3(&w->normal, k, c->normal);
    put_lane3(&w->t1, k, c->t1);
    put_lane3(&w->t2, k, c->t2);
    const sh_solver_body *ba = &s->bodies[c->a], *bb = &s->bodies[c->b];
    w->inv_mass_a[k] = ba->inv_mass;
    w->inv_mass_b[k] = bb->inv_mass;
    for (int col = 0; col < 3; col++)
    {
        put_lane3(&w->inv_i_a[col], k, ba->inv_i[col]);
        put_lane3(&w->inv_i_b[col], k, bb->inv_i[col]);
    }
    w->friction[k] = c->friction;
    w->bias_rate[k] = c->soft.bias_rate;
    w->mass_scale[k] = c->soft.mass_scale;
    w->impulse_scale[k] = c->soft.impulse_scale;
    w->active[k] = c->active ? -1 : 0;
    for (int j = 0; j < c->point_count; j++)
    {
        const sh_constraint_point* cp = &c->points[j];
        sh_wide_point* p = &w->points[j];
        put_lane3(&p->ra, k, cp->ra);
        put_lane3(&p->rb, k, cp->rb);
        p->base_separation[k] = cp->base_separation;
        p->normal_impulse[k] = cp->normal_impulse;
        p->tangent_impulse[0][k] = cp->tangent_impulse[0];
        p->tangent_impulse[1][k] = cp->tangent_impulse[1];
        p->max_normal_impulse[k] = cp->max_normal_impulse;
        // The manifold separation, until finish_batch turns it into the impact speed.
        p->relative_velocity[k] = separation[j];
    }
}

static sh_wide_path forced_path = SH_WIDE_AUTO;

void sh_wide_force_path(sh_wide_path path)
{
    forced_path = path;
}

sh_wide_path sh_wide_cpu_path(void)
{
    // No __builtin_cpu_init(): libgcc's constructor has filled the CPU model before main, and this runs on
    // session threads too, where a re-init would be a (benign but real) data race.
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return SH_WIDE_AVX512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return SH_WIDE_AVX2;
    return SH_WIDE_GENERIC;
}

// Batches for the levels of g: lane_of filled, the batches' memory not yet touched (open_batch). False
// when the arena is out of memory.
static bool alloc_batches(sh_wide_solver* ws, const sh_contact_solver* s, const sh_constraint_graph* g,
                          sh_arena* arena)
{
    int batches = 0;
    for (int l = 0; l < g->level_count; l++)
        batches += (g->level_start[l + 1] - g->level_start[l] + SH_WIDE - 1) / SH_WIDE;
    ws->batch_count = batches;
    ws->lane_of = sh_arena_alloc(arena, (size_t)(s->count > 0 ? s->count : 1) * sizeof *ws->lane_of);
    ws->level_first = sh_arena_alloc(arena, (size_t)(g->level_count + 1) * sizeof *ws->level_first);
    if (ws->lane_of == NULL || ws->level_first == NULL)
        return false;
    ws->level_count = g->level_count;
    ws->level_first[g->level_count] = batches;
    if (batches == 0)
        return true;
    // The arena aligns to 16; the vectors want their size.
    const uintptr_t align = sizeof(sh_fw);
    size_t bytes = (size_t)batches * sizeof(sh_wide_constraint);
    char* raw = sh_arena_alloc(arena, bytes + align);
    if (raw == NULL)
        return false;
    ws->batches = (sh_wide_constraint*)(void*)(((uintptr_t)raw + align - 1) & ~(align - 1));
    int next = 0;
    for (int l = 0; l < g->level_count; l++)
        for (int i = g->level_start[l]; i < g->level_start[l + 1]; i++)
        {
            const int lane = (i - g->level_start[l]) % SH_WIDE;
            if (i == g->level_start[l])
                ws->level_first[l] = next;
            if (lane == 0)
                next++; // its memory is set up by open_batch when the fill reaches it
            ws->lane_of[g->order[i]] = (next - 1) * SH_WIDE + lane;
        }
    return true;
}

// pair_next[i]: batches i and i + 1 share no simulated body, so a pass may run them interleaved
// (FOR_PAIRS). False when the arena is out of memory.
static bool link_pairs(sh_wide_solver* ws, int body_count, sh_arena* arena)
{
    ws->pair_next = sh_arena_alloc(arena, (size_t)ws->batch_count + 1);
    int* stamp = sh_arena_alloc(arena, ((size_t)body_count + 1) * sizeof *stamp); // last batch on a body
    if (ws->pair_next == NULL || stamp == NULL)
        return false;
    for (int k = 0; k <= body_count; k++)
        stamp[k] = -1;
    for (int i = 0; i < ws->batch_count; i++)
    {
        const sh_wide_constraint* c = &ws->batches[i];
        bool shared = false;
        for (int k = 0; k < SH_WIDE; k++)
        {
            // The static dummy (body_count) is never changed: sharing it is no conflict.
            shared = shared || (c->a[k] < body_count && stamp[c->a[k]] == i - 1) ||
                     (c->b[k] < body_count && stamp[c->b[k]] == i - 1);
        }
        if (i > 0)
            ws->pair_next[i - 1] = !shared;
        for (int k = 0; k < SH_WIDE; k++)
        {
            if (c->a[k] < body_count)
                stamp[c->a[k]] = i;
            if (c->b[k] < body_count)
                stamp[c->b[k]] = i;
        }
    }
    ws->pair_next[ws->batch_count] = false;
    return true;
}

// Every lane inert (the static dummy, index -1, zeros) until filled. Called as the fill, which walks the
// lanes in order, reaches a batch's lane 0: zeroing all the batches up front (6.6 MB on the 5050 pyramid)
// pushed the first ones out of the cache before the fill wrote them.
static void open_batch(sh_wide_constraint* wc, int dummy)
{
    memset(wc, 0, sizeof *wc);
    for (int k = 0; k < SH_WIDE; k++)
    {
        wc->a[k] = wc->b[k] = dummy; // the static dummy: never changed
        wc->index[k] = -1;
    }
}

// Small step (everything in L2): keep each batch's Jacobian rows instead of rebuilding them every pass.
// The same make_row8, so the same bits. The bound keeps the cache (4.6 KB a batch) under ~300 KB; the
// 5050 pyramid's 2179 batches rebuild (that layout is memory-bound, see sh_wide_point).
#define SH_WIDE_ROW_CACHE_BATCHES 64

static void cache_rows(sh_wide_solver* ws, sh_arena* arena)
{
    ws->rows = NULL;
    if (ws->batch_count == 0 || ws->batch_count > SH_WIDE_ROW_CACHE_BATCHES)
        return;
    const uintptr_t align = sizeof(sh_fw);
    size_t bytes = (size_t)ws->batch_count * ROWS_PER_BATCH * sizeof(sh_wide_row);
    char* raw = sh_arena_alloc(arena, bytes + align);
    if (raw == NULL)
        return; // rebuilt every pass instead: the same result
    sh_wide_row* rows = (sh_wide_row*)(void*)(((uintptr_t)raw + align - 1) & ~(align - 1));
    for (int i = 0; i < ws->batch_count; i++)
    {
        const sh_wide_constraint* c = &ws->batches[i];
        for (int j = 0; j < SH_MAX_MANIFOLD_POINTS; j++)
            for (int r = 0; r < 3; r++)
                get_row(c, j, r, NULL, rows + (size_t)i * ROWS_PER_BATCH + (j * 3 + r));
    }
    ws->rows = rows;
}

static sh_wide_path choose_path(void)
{
    const sh_wide_path cpu = sh_wide_cpu_path();
    return forced_path == SH_WIDE_AUTO || forced_path > cpu ? cpu : forced_path;
}

// finish_batch on batches [first, first + count) with the solver's instruction set.
static void finish_range(sh_wide_solver* ws, int first, int count, const sh_contact_solver* s,
                         const sh_world* w)
{
    const float dt = s->h * (float)w->def.substeps;
    if (ws->isa >= SH_WIDE_AVX2)
        finish_avx2(ws->batches + first, count, s->bodies, w->def.gravity, dt);
    else
        finish_generic(ws->batches + first, count, s->bodies, w->def.gravity, dt);
}

typedef struct prepare_task
{
    sh_wide_solver* ws;
    const sh_contact_solver* s;
    const sh_world* w;
    const sh_constraint_graph* g;
    int* batch_pos; // [batch_count + 1]: a batch's first position in g->order
    sh_softness soft, static_soft;
} prepare_task;

// Batches [begin, end): each batch's lanes are prepared, loaded and finished by one range, and a batch
// reads only its constraints, their contacts and bodies (never written here), so ranges are independent.
// Each constraint is prepared by the scalar code into one scratch constraint that stays in L1 (the step's
// array of them, 800 bytes each, is never filled on this path: at 15 000 constraints its writes and reads
// cost more than the prepare's arithmetic), then copied into its lane.
static void prepare_batches(int begin, int end, int worker, void* ctx)
{
    (void)worker;
    const prepare_task* t = ctx;
    sh_wide_solver* ws = t->ws;
    const sh_contact_solver* s = t->s;
    const sh_world* w = t->w;
    const sh_constraint_graph* g = t->g;
    const int last = t->batch_pos[end];
    sh_constraint scratch;
    for (int batch = begin; batch < end; batch++)
    {
        open_batch(&ws->batches[batch], g->body_count);
        for (int i = t->batch_pos[batch]; i < t->batch_pos[batch + 1]; i++)
        {
            // Levels visit the contacts out of index order: fetch ahead (measured: the prepare's loads of
            // contacts and constraints missed the cache on most of the pyramid's 15 000).
            if (i + 16 < last)
            {
                const sh_constraint* c = &s->constraints[g->order[i + 16]];
                __builtin_prefetch(&c->a); // a, b and contact sit in different cache lines
                __builtin_prefetch(&c->contact);
            }
            if (i + 8 < last)
            {
                const char* ahead = (const char*)&w->contacts.data[s->constraints[g->order[i + 8]].contact];
                for (size_t off = 0; off < sizeof(sh_contact); off += 64)
                    __builtin_prefetch(ahead + off);
            }
            const int index = g->order[i];
            const sh_constraint* c = &s->constraints[index];
            scratch.a = c->a;
            scratch.b = c->b;
            scratch.contact = c->contact;
            sh_contact_solver_prepare_one(s, w, t->soft, t->static_soft, false, &scratch);
            float separation[SH_MAX_MANIFOLD_POINTS];
            const sh_manifold* m = &w->contacts.data[c->contact].manifold;
            for (int j = 0; j < m->point_count; j++)
                separation[j] = m->points[j].separation;
            load_lane(&ws->batches[batch], ws->lane_of[index] % SH_WIDE, s, &scratch, index, separation);
        }
        // Finished while its lanes are still in the cache (a separate pass over all of them afterwards
        // read 6.6 MB back on the 5050 pyramid).
        finish_range(ws, batch, 1, s, w);
    }
}

bool sh_wide_prepare(sh_wide_solver* ws, const sh_contact_solver* s, const sh_world* w,
                     const sh_constraint_graph* g, sh_arena* arena)
{
    memset(ws, 0, sizeof *ws);
    if (forced_path == SH_WIDE_SCALAR)
        return false;
    ws->isa = choose_path();
    ws->world = w;
    if (!alloc_batches(ws, s, g, arena))
        return false;
    prepare_task t = {ws,  s,  w, g, sh_arena_alloc(arena, ((size_t)ws->batch_count + 1) * sizeof(int)),
                      {0}, {0}};
    if (t.batch_pos == NULL)
        return false;
    sh_contact_solver_softness(s, w, &t.soft, &t.static_soft);
    // Batch b holds order[batch_pos[b] .. batch_pos[b + 1]): a level's batches take eight positions each,
    // its last the rest.
    for (int l = 0; l < g->level_count; l++)
        for (int b = ws->level_first[l]; b < ws->level_first[l + 1]; b++)
            t.batch_pos[b] = g->level_start[l] + (b - ws->level_first[l]) * SH_WIDE;
    t.batch_pos[ws->batch_count] = g->level_start[g->level_count];
    sh_world_run(w, prepare_batches, ws->batch_count, SH_TASK_MIN_BATCHES, &t);
    if (!link_pairs(ws, g->body_count, arena))
        return false;
    cache_rows(ws, arena);
    return true;
}

// A batch is rows of eight 4-byte lanes (the int arrays and the vectors alike), so a lane copies row by row.
_Static_assert(sizeof(sh_wide_constraint) % (4 * SH_WIDE) == 0 && sizeof(sh_fw) == 4 * SH_WIDE,
               "sh_wide_constraint is whole rows of lanes");

static void copy_lane(sh_wide_constraint* dst, int kd, const sh_wide_constraint* src, int ks)
{
    uint32_t(*d)[SH_WIDE] = (void*)dst;
    const uint32_t(*r)[SH_WIDE] = (const uint32_t(*)[SH_WIDE])(const void*)src;
    for (size_t row = 0; row < sizeof(sh_wide_constraint) / sizeof(sh_fw); row++)
        d[row][kd] = r[row][ks];
}

bool sh_wide_prepare_subset(sh_wide_solver* sub, const sh_wide_solver* ws, const sh_contact_solver* s,
                            const sh_constraint_graph* g, sh_arena* arena)
{
    memset(sub, 0, sizeof *sub);
    sub->isa = ws->isa;
    sub->world = ws->world;
    if (!alloc_batches(sub, s, g, arena))
        return false;
    const int total = g->level_start[g->level_count];
    for (int i = 0; i < total; i++)
    {
        const int index = g->order[i], to = sub->lane_of[index], from = ws->lane_of[index];
        if (to % SH_WIDE == 0)
            open_batch(&sub->batches[to / SH_WIDE], g->body_count);
        copy_lane(&sub->batches[to / SH_WIDE], to % SH_WIDE, &ws->batches[from / SH_WIDE], from % SH_WIDE);
    }
    if (!link_pairs(sub, g->body_count, arena))
        return false;
    cache_rows(sub, arena);
    return true;
}

// ---- the passes, level by level through the world's task interface ----

typedef enum pass_kind
{
    PASS_APPROACH,
    PASS_WARM_START,
    PASS_SOLVE,
} pass_kind;

typedef struct pass_task
{
    const sh_wide_solver* ws;
    sh_contact_solver* s;
    pass_kind kind;
    sh_wide_pass pass;
    int first; // the range's batches are first + [begin, end)
} pass_task;

// One kind of pass over batches [first, first + count), in order, with the solver's instruction set.
static void run_batches(const sh_wide_solver* ws, sh_contact_solver* s, pass_kind kind, sh_wide_pass pass,
                        int first, int count)
{
    sh_wide_constraint* batches = ws->batches + first;
    const sh_wide_row* rows = ws->rows ? ws->rows + (size_t)first * ROWS_PER_BATCH : NULL;
    if (kind == PASS_APPROACH)
    {
        // Velocity reads only, once a sub-step: the AVX2 instantiation serves the AVX-512 CPUs too.
        if (ws->isa >= SH_WIDE_AVX2)
            approach_avx2(batches, count, s->bodies, rows);
        else
            approach_generic(batches, count, s->bodies, rows);
    }
    else if (kind == PASS_WARM_START)
    {
        if (ws->isa == SH_WIDE_AVX512)
            warm_start_avx512(batches, count, s->bodies, rows);
        else if (ws->isa == SH_WIDE_AVX2)
            warm_start_avx2(batches, count, s->bodies, rows);
        else
            warm_start_generic(batches, count, s->bodies, rows);
    }
    else
    {
        const bool* pair_next = ws->pair_next + first;
        if (ws->isa == SH_WIDE_AVX512)
            solve_avx512(batches, count, pair_next, s->bodies, s->inv_h, s->push_max, pass, s->reverse, rows);
        else if (ws->isa == SH_WIDE_AVX2)
            solve_avx2(batches, count, pair_next, s->bodies, s->inv_h, s->push_max, pass, s->reverse, rows);
        else
            solve_generic(batches, count, pair_next, s->bodies, s->inv_h, s->push_max, pass, s->reverse,
                          rows);
    }
}

static void pass_range(int begin, int end, int worker, void* ctx)
{
    (void)worker;
    const pass_task* t = ctx;
    run_batches(t->ws, t->s, t->kind, t->pass, t->first + begin, end - begin);
}

// Levels of at least 2 · SH_TASK_MIN_LEVEL_BATCHES batches are handed to the task interface as ranges of
// batches: a level's batches share no simulated body (constraint_graph.h), so each body row is written by
// one range only and no batch reads another's, and the level gives the same bits in any split. (The
// static dummy's row is rewritten with its own zeros by every batch that has it.) A run of smaller levels
// goes as one sequential call: large_pyramid's 719 levels average 2.7 batches, and a wake-up per level
// per pass would cost more than their work; many_pyramids' 59 levels hold about 60 batches each.
// A pass kind that only reads bodies (approach) splits over all batches at once.
#define SH_TASK_MIN_LEVEL_BATCHES 8

static void run_levels(const sh_wide_solver* ws, sh_contact_solver* s, pass_kind kind, sh_wide_pass pass)
{
    const sh_world* w = ws->world;
    const bool split = w != NULL && w->def.threads > 1 && w->def.enqueue_task != NULL;
    if (!split)
    {
        run_batches(ws, s, kind, pass, 0, ws->batch_count);
        return;
    }
    pass_task t = {ws, s, kind, pass, 0};
    if (kind == PASS_APPROACH)
    {
        sh_world_run(w, pass_range, ws->batch_count, SH_TASK_MIN_LEVEL_BATCHES, &t);
        return;
    }
    int pending = 0; // batches [pending, level_first[l]) not run yet: small levels
    for (int l = 0; l < ws->level_count; l++)
    {
        const int first = ws->level_first[l], count = ws->level_first[l + 1] - first;
        if (count < 2 * SH_TASK_MIN_LEVEL_BATCHES)
            continue;
        if (first > pending)
            run_batches(ws, s, kind, pass, pending, first - pending);
        t.first = first;
        sh_world_run(w, pass_range, count, SH_TASK_MIN_LEVEL_BATCHES, &t);
        pending = first + count;
    }
    if (ws->batch_count > pending)
        run_batches(ws, s, kind, pass, pending, ws->batch_count - pending);
}

void sh_wide_approach(const sh_wide_solver* ws, sh_contact_solver* s)
{
    run_levels(ws, s, PASS_APPROACH, SH_WIDE_BIASED);
}

void sh_wide_warm_start(const sh_wide_solver* ws, sh_contact_solver* s)
{
    run_levels(ws, s, PASS_WARM_START, SH_WIDE_BIASED);
}

void sh_wide_solve(sh_wide_solver* ws, sh_contact_solver* s, sh_wide_pass pass)
{
    run_levels(ws, s, PASS_SOLVE, pass);
    s->reverse = !s->reverse;
}

void sh_wide_fetch(const sh_wide_solver* ws, int constraint, sh_constraint* c)
{
    const int batch = ws->lane_of[constraint] / SH_WIDE, k = ws->lane_of[constraint] % SH_WIDE;
    const sh_wide_constraint* wc = &ws->batches[batch];
    c->point_count = wc->point_count[k];
    c->active = wc->active[k] != 0;
    for (int j = 0; j < c->point_count; j++)
    {
        const sh_wide_point* p = &wc->points[j];
        sh_constraint_point* cp = &c->points[j];
        cp->normal_impulse = p->normal_impulse[k];
        cp->tangent_impulse[0] = p->tangent_impulse[0][k];
        cp->tangent_impulse[1] = p->tangent_impulse[1][k];
        cp->max_normal_impulse = p->max_normal_impulse[k];
        cp->relative_velocity = p->relative_velocity[k];
        cp->approach_velocity = p->approach_velocity[k];
    }
}

// Level order visits the contacts out of index order: fetch batch i's warm-start slots ahead.
static void prefetch_states(const sh_wide_solver* ws, int i, const sh_world* w)
{
    if (i >= ws->batch_count)
        return;
    for (int k = 0; k < SH_WIDE; k++)
        if (ws->batches[i].index[k] >= 0)
            __builtin_prefetch(w->contacts.data[ws->batches[i].contact[k]].state, 1);
}

// A lane's impulses into its contact's warm-start slots.
static void store_lane(const sh_wide_constraint* wc, int k, sh_contact* ct)
{
    for (int j = 0; j < wc->point_count[k]; j++)
    {
        const sh_wide_point* p = &wc->points[j];
        ct->state[j].normal_impulse = p->normal_impulse[k];
        ct->state[j].tangent_impulse[0] = p->tangent_impulse[0][k];
        ct->state[j].tangent_impulse[1] = p->tangent_impulse[1][k];
        ct->state[j].max_normal_impulse = p->max_normal_impulse[k];
    }
}

void sh_wide_impacts(const sh_wide_solver* ws, sh_world* w, sh_wide_impact* out)
{
    for (int i = 0; i < ws->batch_count; i++)
    {
        const sh_wide_constraint* wc = &ws->batches[i];
        prefetch_states(ws, i + 1, w);
        for (int k = 0; k < SH_WIDE; k++)
        {
            if (wc->index[k] < 0)
                continue;
            sh_wide_impact* v = &out[wc->index[k]];
            sh_contact* ct = &w->contacts.data[wc->contact[k]];
            v->contact = wc->contact[k];
            v->point_count = wc->point_count[k];
            for (int j = 0; j < v->point_count; j++)
            {
                const sh_wide_point* p = &wc->points[j];
                v->relative_velocity[j] = p->relative_velocity[k];
                v->normal_impulse[j] = p->normal_impulse[k];
            }
            store_lane(wc, k, ct);
        }
    }
}

float sh_wide_residual(const sh_wide_solver* ws, const sh_contact_solver* s, const bool* skip)
{
    // The residual runs once a step: the AVX2 instantiation serves the AVX-512 CPUs too.
    if (ws->isa >= SH_WIDE_AVX2)
        return residual_avx2(ws->batches, ws->batch_count, s->bodies, skip);
    return residual_generic(ws->batches, ws->batch_count, s->bodies, skip);
}

void sh_wide_store(const sh_wide_solver* ws, const sh_contact_solver* s, sh_world* w, const bool* skip)
{
    (void)s;
    for (int i = 0; i < ws->batch_count; i++)
    {
        const sh_wide_constraint* wc = &ws->batches[i];
        prefetch_states(ws, i + 1, w);
        for (int k = 0; k < SH_WIDE; k++)
        {
            const int index = wc->index[k];
            if (index < 0 || (skip != NULL && skip[index]))
                continue;
            store_lane(wc, k, &w->contacts.data[wc->contact[k]]);
        }
    }
}
