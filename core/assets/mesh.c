// sh_mesh: growable indexed triangle meshes shared by the importers, the shape generators and the DB.
#include "mesh.h"

#include "blob.h"
#include "import.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void sh_mesh_free(sh_mesh* mesh)
{
    if (mesh == NULL)
        return;
    sh_free(mesh->xyz, (size_t)mesh->vertex_cap * 3 * sizeof(float));
    sh_free(mesh->indices, (size_t)mesh->triangle_cap * 3 * sizeof(uint32_t));
    memset(mesh, 0, sizeof *mesh);
}

int sh_mesh_add_vertex(sh_mesh* m, float x, float y, float z)
{
    if (m->vertex_count == m->vertex_cap)
    {
        int cap = m->vertex_cap < 64 ? 64 : m->vertex_cap * 2;
        float* p =
            sh_realloc(m->xyz, (size_t)m->vertex_cap * 3 * sizeof(float), (size_t)cap * 3 * sizeof(float));
        if (p == NULL)
            return -1;
        m->xyz = p;
        m->vertex_cap = cap;
    }
    float* v = m->xyz + 3 * m->vertex_count;
    v[0] = x;
    v[1] = y;
    v[2] = z;
    return m->vertex_count++;
}

bool sh_mesh_add_triangle(sh_mesh* m, uint32_t a, uint32_t b, uint32_t c)
{
    if (m->triangle_count == m->triangle_cap)
    {
        int cap = m->triangle_cap < 64 ? 64 : m->triangle_cap * 2;
        uint32_t* p = sh_realloc(m->indices, (size_t)m->triangle_cap * 3 * sizeof(uint32_t),
                                 (size_t)cap * 3 * sizeof(uint32_t));
        if (p == NULL)
            return false;
        m->indices = p;
        m->triangle_cap = cap;
    }
    uint32_t* t = m->indices + 3 * m->triangle_count++;
    t[0] = a;
    t[1] = b;
    t[2] = c;
    return true;
}

void sh_mesh_orient_convex(sh_mesh* m)
{
    double mean[3] = {0, 0, 0};
    for (int i = 0; i < m->vertex_count; i++)
        for (int k = 0; k < 3; k++)
            mean[k] += m->xyz[3 * i + k] / m->vertex_count;
    for (int t = 0; t < m->triangle_count; t++)
    {
        uint32_t* tri = m->indices + 3 * t;
        const float *a = m->xyz + 3 * tri[0], *b = m->xyz + 3 * tri[1], *c = m->xyz + 3 * tri[2];
        double ab[3], ac[3], am[3];
        for (int k = 0; k < 3; k++)
        {
            ab[k] = (double)b[k] - a[k];
            ac[k] = (double)c[k] - a[k];
            am[k] = mean[k] - a[k];
        }
        double n[3] = {ab[1] * ac[2] - ab[2] * ac[1], ab[2] * ac[0] - ab[0] * ac[2],
                       ab[0] * ac[1] - ab[1] * ac[0]};
        if (n[0] * am[0] + n[1] * am[1] + n[2] * am[2] > 0)
        {
            uint32_t tmp = tri[1];
            tri[1] = tri[2];
            tri[2] = tmp;
        }
    }
}

static int cmp_point(const void* a, const void* b)
{
    return memcmp(a, b, 3 * sizeof(float));
}

float* sh_mesh_unique_points(const sh_mesh* m, int* count)
{
    // Sort a copy bytewise and drop equal neighbours: exact duplicates (STL repeats every corner) go,
    // which keeps an imported mesh under the hull's point cap. -0 and +0 stay distinct: harmless.
    size_t bytes = (size_t)(m->vertex_count > 0 ? m->vertex_count : 1) * 3 * sizeof(float);
    float* p = sh_alloc(bytes);
    if (p == NULL)
        return NULL;
    memcpy(p, m->xyz, (size_t)m->vertex_count * 3 * sizeof(float));
    qsort(p, (size_t)m->vertex_count, 3 * sizeof(float), cmp_point);
    int n = 0;
    for (int i = 0; i < m->vertex_count; i++)
        if (n == 0 || memcmp(p + 3 * (n - 1), p + 3 * i, 3 * sizeof(float)) != 0)
        {
            memmove(p + 3 * n, p + 3 * i, 3 * sizeof(float));
            n++;
        }
    float* q = sh_realloc(p, bytes, (size_t)(n > 0 ? n : 1) * 3 * sizeof(float));
    if (q == NULL)
    {
        sh_free(p, bytes);
        return NULL;
    }
    *count = n;
    return q;
}

typedef struct weld_item
{
    float p[3];
    int index;
} weld_item;

static int cmp_weld(const void* a, const void* b)
{
    const weld_item *x = a, *y = b;
    int c = memcmp(x->p, y->p, sizeof x->p);
    return c != 0 ? c : x->index - y->index;
}

bool sh_mesh_weld(sh_mesh* m)
{
    if (m->vertex_count == 0)
        return true;
    size_t n = (size_t)m->vertex_count;
    weld_item* items = sh_alloc(n * sizeof *items);
    uint32_t* remap = sh_alloc(n * sizeof *remap);
    if (items == NULL || remap == NULL)
    {
        sh_free(items, n * sizeof *items);
        sh_free(remap, n * sizeof *remap);
        return false;
    }
    for (size_t i = 0; i < n; i++)
    {
        memcpy(items[i].p, m->xyz + 3 * i, sizeof items[i].p);
        items[i].index = (int)i;
    }
    qsort(items, n, sizeof *items, cmp_weld);
    // New vertices keep the order of first appearance so a welded mesh stays readable.
    int* first_of = (int*)remap; // reuse: first original index of each item's group, stored per original
    for (size_t i = 0; i < n; i++)
    {
        size_t j = i;
        while (j > 0 && memcmp(items[j - 1].p, items[i].p, sizeof items[i].p) == 0)
            j--;
        first_of[items[i].index] = items[j].index;
    }
    int count = 0;
    for (size_t i = 0; i < n; i++)
    {
        if (first_of[i] == (int)i)
        {
            memmove(m->xyz + 3 * count, m->xyz + 3 * i, 3 * sizeof(float));
            first_of[i] = -1 - count; // now the new index, encoded so it differs from original indices
            count++;
        }
        else
            first_of[i] = first_of[first_of[i]];
    }
    for (int t = 0; t < 3 * m->triangle_count; t++)
        m->indices[t] = (uint32_t)(-1 - first_of[m->indices[t]]);
    m->vertex_count = count;
    sh_free(items, n * sizeof *items);
    sh_free(remap, n * sizeof *remap);
    return true;
}

// --- loading files ------------------------------------------------------------------------------------

#define MAX_FILE_BYTES (256u << 20)

static bool looks_like_obj(const char* data, size_t size)
{
    // Text whose lines start with OBJ keywords: at least one `v ` line and nothing binary.
    if (memchr(data, '\0', size) != NULL)
        return false;
    bool vertex = false;
    for (const char* p = data; p < data + size;)
    {
        while (p < data + size && (*p == ' ' || *p == '\t'))
            p++;
        if (p + 1 < data + size && p[0] == 'v' && (p[1] == ' ' || p[1] == '\t'))
            vertex = true;
        const char* eol = memchr(p, '\n', (size_t)(data + size - p));
        p = eol ? eol + 1 : data + size;
    }
    return vertex;
}

bool sh_mesh_load(const char* path, sh_mesh* out, sh_error* err)
{
    memset(out, 0, sizeof *out);
    FILE* f = fopen(path, "rb");
    if (f == NULL)
        return sh_error_set(err, "%s: %s", path, errno == ENOENT ? "no such file" : strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode))
    {
        fclose(f);
        return sh_error_set(err, "%s: not a regular file", path);
    }
    if ((uint64_t)st.st_size > MAX_FILE_BYTES)
    {
        fclose(f);
        return sh_error_set(err, "%s: file too large (%lld bytes, at most %u)", path, (long long)st.st_size,
                            MAX_FILE_BYTES);
    }
    size_t size = (size_t)st.st_size;
    char* data = sh_alloc(size + 1);
    if (data == NULL)
    {
        fclose(f);
        return sh_error_set(err, "%s: out of memory", path);
    }
    size_t got = fread(data, 1, size, f);
    fclose(f);
    if (got != size)
    {
        sh_free(data, size + 1);
        return sh_error_set(err, "%s: read error", path);
    }
    data[size] = '\0';

    // Tell the formats apart by content. A binary STL's size is exactly 84 + 50·count, which settles the
    // files whose 80-byte header happens to start with "solid" too; text starting with "solid" is ASCII STL.
    const unsigned char* u = (const unsigned char*)data;
    bool binary_size = size >= 84 && (uint64_t)size == 84 + 50 * (uint64_t)sh_blob_get_u32(u + 80);
    const char* s = data;
    while (s < data + size && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'))
        s++;
    bool solid = (size_t)(data + size - s) >= 5 && strncmp(s, "solid", 5) == 0;
    bool text = memchr(data, '\0', size) == NULL;
    bool ok;
    if (binary_size && !(solid && text))
        ok = sh_import_stl_binary(path, u, size, out, err);
    else if (solid && text)
        ok = sh_import_stl_ascii(path, data, size, out, err);
    else if (solid || (!text && size >= 84))
        ok = sh_import_stl_binary(path, u, size, out, err); // binary (it has NUL bytes) but the wrong size
    else if (looks_like_obj(data, size))
        ok = sh_import_obj(path, data, size, out, err);
    else
        ok = sh_error_set(err, "%s: not an STL or OBJ file", path);
    sh_free(data, size + 1);
    if (!ok)
        sh_mesh_free(out);
    return ok;
}
