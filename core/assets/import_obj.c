// Wavefront OBJ reader: `v x y z [w]` and `f` lines (corners as `v`, `v/vt`, `v//vn` or `v/vt/vn`, 1-based,
// negative = relative to the vertices so far); polygons are fan-triangulated from their first corner, which
// keeps the winding. Everything else (vt, vn, o, g, s, usemtl, mtllib, comments) is ignored.
#include "import.h"
#include "mesh.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_POLYGON 256

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

bool sh_import_obj(const char* path, const char* data, size_t size, sh_mesh* m, sh_error* err)
{
    const char* end = data + size;
    int line = 0;
    for (const char* p = data; p < end;)
    {
        line++;
        const char* eol = memchr(p, '\n', (size_t)(end - p));
        if (eol == NULL)
            eol = end;
        char buf[4096];
        size_t len = (size_t)(eol - p);
        if (len >= sizeof buf)
            return sh_error_set(err, "%s: line %d: too long", path, line);
        memcpy(buf, p, len);
        buf[len] = '\0';
        p = eol + 1;
        if (memchr(buf, '\0', len) != NULL)
            return sh_error_set(err, "%s: line %d: binary data in an OBJ file", path, line);
        char* s = buf;
        while (is_space(*s))
            s++;
        if (s[0] == 'v' && is_space(s[1]))
        {
            float v[3];
            char* q = s + 2;
            for (int k = 0; k < 3; k++)
            {
                char* stop = NULL;
                double d = strtod(q, &stop);
                if (stop == q)
                    return sh_error_set(err, "%s: line %d: a vertex needs 3 numbers", path, line);
                if (!isfinite(d) || !isfinite((float)d))
                    return sh_error_set(err, "%s: line %d: coordinate is not finite (NaN or infinity)", path,
                                        line);
                v[k] = (float)d;
                q = stop;
            }
            if (sh_mesh_add_vertex(m, v[0], v[1], v[2]) < 0)
                return sh_error_set(err, "%s: out of memory", path);
        }
        else if (s[0] == 'f' && is_space(s[1]))
        {
            uint32_t corner[MAX_POLYGON];
            int n = 0;
            char* q = s + 2;
            for (;;)
            {
                while (is_space(*q))
                    q++;
                if (*q == '\0')
                    break;
                char* stop = NULL;
                errno = 0;
                long idx = strtol(q, &stop, 10);
                if (stop == q || errno != 0)
                    return sh_error_set(err, "%s: line %d: bad face corner", path, line);
                // Skip "/vt", "//vn", "/vt/vn": only the position index matters here.
                while (*stop != '\0' && !is_space(*stop))
                {
                    if (*stop != '/' && *stop != '-' && (*stop < '0' || *stop > '9'))
                        return sh_error_set(err, "%s: line %d: bad face corner", path, line);
                    stop++;
                }
                q = stop;
                long resolved = idx < 0 ? m->vertex_count + idx : idx - 1;
                if (idx == 0 || resolved < 0 || resolved >= m->vertex_count)
                    return sh_error_set(err, "%s: line %d: face refers to vertex %ld, which does not exist",
                                        path, line, idx);
                if (n == MAX_POLYGON)
                    return sh_error_set(err, "%s: line %d: polygon with more than %d corners", path, line,
                                        MAX_POLYGON);
                corner[n++] = (uint32_t)resolved;
            }
            if (n < 3)
                return sh_error_set(err, "%s: line %d: a face needs at least 3 corners", path, line);
            for (int k = 1; k + 1 < n; k++)
            {
                if (m->triangle_count >= SH_IMPORT_MAX_TRIANGLES)
                    return sh_error_set(err, "%s: more than %d triangles", path, SH_IMPORT_MAX_TRIANGLES);
                if (!sh_mesh_add_triangle(m, corner[0], corner[k], corner[k + 1]))
                    return sh_error_set(err, "%s: out of memory", path);
            }
        }
    }
    if (m->triangle_count == 0)
        return sh_error_set(err, "%s: OBJ has no faces", path);
    return true;
}
