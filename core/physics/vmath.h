#pragma once
// The physics' one small math header (static inline, const-correct): scalar min/max and clamp,
// value-type 3-vectors and 3×3 matrices. Each function performs the same
// operations in the same order as the code it replaced, so results are bit-identical (the build is
// ISO C11 without FMA flags: no contraction). cglm stays for the stored vec3/versor arrays.

#include <cglm/cglm.h>
#include <math.h>

// Hot helpers: fminf/fmaxf are libm calls without -ffinite-math-only (NaN rules), and GCC declines
// to inline the solver's small vector helpers at -O2 (measured with perf: a third of the solve time).
#define SH_INLINE static inline __attribute__((always_inline))

SH_INLINE float min_f(float a, float b)
{
    return a < b ? a : b;
}

SH_INLINE float max_f(float a, float b)
{
    return a > b ? a : b;
}

static inline float clamp01(float x)
{
    return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x);
}

// ---------------------------------------------------------------------------------------------
// Value-type vectors: lets the compiler keep everything in registers.

typedef struct v3
{
    float x, y, z;
} v3;

typedef struct m33
{
    v3 c0, c1, c2; // columns
} m33;

static inline v3 v3_load(const float* v)
{
    return (v3){v[0], v[1], v[2]};
}

static inline void v3_store(v3 a, float* out)
{
    out[0] = a.x;
    out[1] = a.y;
    out[2] = a.z;
}

static inline v3 v3_add(v3 a, v3 b)
{
    return (v3){a.x + b.x, a.y + b.y, a.z + b.z};
}

static inline v3 v3_sub(v3 a, v3 b)
{
    return (v3){a.x - b.x, a.y - b.y, a.z - b.z};
}

static inline v3 v3_scale(v3 a, float s)
{
    return (v3){a.x * s, a.y * s, a.z * s};
}

static inline v3 v3_neg(v3 a)
{
    return (v3){-a.x, -a.y, -a.z};
}

static inline v3 v3_mad(v3 a, v3 b, float s) // a + b·s
{
    return (v3){a.x + b.x * s, a.y + b.y * s, a.z + b.z * s};
}

static inline float v3_dot(v3 a, v3 b)
{
    return a.x * b.x + a.y * b.y + a.z * b.z;
}

static inline v3 v3_cross(v3 a, v3 b)
{
    return (v3){a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
}

static inline float v3_len_sq(v3 a)
{
    return v3_dot(a, a);
}

static inline v3 m33_mul(const m33* m, v3 v)
{
    return v3_add(v3_add(v3_scale(m->c0, v.x), v3_scale(m->c1, v.y)), v3_scale(m->c2, v.z));
}

static inline v3 m33_mul_t(const m33* m, v3 v) // transpose(m)·v
{
    return (v3){v3_dot(m->c0, v), v3_dot(m->c1, v), v3_dot(m->c2, v)};
}

// Rotation matrix of a quaternion (x, y, z, w). Divides by |q|² so a slightly denormalised
// quaternion still gives a rotation; a zero one gives the identity rather than NaN.
static inline m33 m33_from_quat(const float* q)
{
    float x = q[0], y = q[1], z = q[2], w = q[3];
    float n = x * x + y * y + z * z + w * w;
    float s = n > 0.0f ? 2.0f / n : 0.0f;
    float xx = s * x * x, yy = s * y * y, zz = s * z * z;
    float xy = s * x * y, xz = s * x * z, yz = s * y * z;
    float wx = s * w * x, wy = s * w * y, wz = s * w * z;
    m33 m;
    m.c0 = (v3){1.0f - yy - zz, xy + wz, xz - wy};
    m.c1 = (v3){xy - wz, 1.0f - xx - zz, yz + wx};
    m.c2 = (v3){xz + wy, yz - wx, 1.0f - xx - yy};
    return m;
}

// ---------------------------------------------------------------------------------------------
// The same on the stored arrays (cglm's vec3 / versor: float[3] / float[4]), const inputs taken as
// const float*, so const data needs no cast. Output may alias an input only where noted.

SH_INLINE float dot3(const float* x, const float* y)
{
    return x[0] * y[0] + x[1] * y[1] + x[2] * y[2];
}

// Rotates v by the unit quaternion q (x, y, z, w) without re-normalising q (cglm's glm_quat_rotatev does,
// a sqrt per call in the hottest loop): v' = v + w t + q×t, t = 2 q×v. out may be v.
SH_INLINE void quat_rotate(const float* q, const float* v, float* out)
{
    float tx = 2.0f * (q[1] * v[2] - q[2] * v[1]);
    float ty = 2.0f * (q[2] * v[0] - q[0] * v[2]);
    float tz = 2.0f * (q[0] * v[1] - q[1] * v[0]);
    out[0] = v[0] + q[3] * tx + (q[1] * tz - q[2] * ty);
    out[1] = v[1] + q[3] * ty + (q[2] * tx - q[0] * tz);
    out[2] = v[2] + q[3] * tz + (q[0] * ty - q[1] * tx);
}

// cglm's vec3 / mat3 operations with const inputs, each the same expression as cglm 0.8's (read from
// its headers): glm_vec3_* take non-const arrays, which cost a (float*) cast on every const one.
// Element-wise ones allow out to be an input; cross3 and mat3_mulv3 go through a temporary as cglm's do.

SH_INLINE void copy3(const float* a, float* out)
{
    out[0] = a[0];
    out[1] = a[1];
    out[2] = a[2];
}

SH_INLINE void add3(const float* a, const float* b, float* out)
{
    out[0] = a[0] + b[0];
    out[1] = a[1] + b[1];
    out[2] = a[2] + b[2];
}

SH_INLINE void sub3(const float* a, const float* b, float* out)
{
    out[0] = a[0] - b[0];
    out[1] = a[1] - b[1];
    out[2] = a[2] - b[2];
}

SH_INLINE void scale3(const float* a, float s, float* out)
{
    out[0] = a[0] * s;
    out[1] = a[1] * s;
    out[2] = a[2] * s;
}

SH_INLINE void muladds3(const float* a, float s, float* out) // out += a·s
{
    out[0] += a[0] * s;
    out[1] += a[1] * s;
    out[2] += a[2] * s;
}

SH_INLINE float norm3(const float* a)
{
    return sqrtf(dot3(a, a));
}

SH_INLINE void cross3(const float* a, const float* b, float* out)
{
    float c[3];
    c[0] = a[1] * b[2] - a[2] * b[1];
    c[1] = a[2] * b[0] - a[0] * b[2];
    c[2] = a[0] * b[1] - a[1] * b[0];
    copy3(c, out);
}

SH_INLINE void mat3_mulv3(const float (*m)[3], const float* v, float* out) // m column-major (cglm mat3)
{
    float r[3];
    r[0] = m[0][0] * v[0] + m[1][0] * v[1] + m[2][0] * v[2];
    r[1] = m[0][1] * v[0] + m[1][1] * v[1] + m[2][1] * v[2];
    r[2] = m[0][2] * v[0] + m[1][2] * v[1] + m[2][2] * v[2];
    copy3(r, out);
}

// cglm's quaternion operations (and mat3 copy) with const inputs. These call cglm (its quaternion
// product takes an SSE path), so results stay bit for bit; the cast on a const input lives here only.

SH_INLINE void quat_conjugate(const float* q, float* out)
{
    glm_quat_conjugate((float*)q, out);
}

SH_INLINE void quat_mul(const float* p, const float* q, float* out) // p·q
{
    glm_quat_mul((float*)p, (float*)q, out);
}

// glm_quat_rotatev: normalises q first (a sqrt), unlike quat_rotate above.
SH_INLINE void quat_rotate_normalised(const float* q, const float* v, float* out)
{
    glm_quat_rotatev((float*)q, (float*)v, out);
}

SH_INLINE void quat_copy(const float* q, float* out)
{
    glm_quat_copy((float*)q, out);
}

SH_INLINE float quat_norm(const float* q)
{
    return glm_quat_norm((float*)q);
}

SH_INLINE void quat_normalize_to(const float* q, float* out)
{
    glm_quat_normalize_to((float*)q, out);
}

SH_INLINE void quat_to_mat3(const float* q, float (*out)[3])
{
    glm_quat_mat3((float*)q, out);
}

SH_INLINE void mat3_copy(const float (*m)[3], float (*out)[3])
{
    glm_mat3_copy((vec3*)m, out);
}
