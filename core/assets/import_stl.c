// STL readers. Binary: 80-byte header, uint32 LE triangle count, then 50 bytes per triangle (float32 LE
// normal, three float32 LE corners, uint16 attribute). ASCII: `solid`, `facet normal`, `outer loop`,
// three `vertex x y z`, `endloop`, `endfacet`, `endsolid`. The stored normals are ignored: the corner order
// (counter-clockwise seen from outside, the STL convention) is what defines the outside.
#include "blob.h"
#include "import.h"
#include "mesh.h"

#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

bool sh_import_stl_binary(const char* path, const unsigned char* data, size_t size, sh_mesh* m, sh_error* err)
{
    if (size < 84)
        return sh_error_set(err, "%s: truncated binary STL (%zu bytes, the header alone is 84)", path, size);
    uint32_t n = sh_blob_get_u32(data + 80);
    if (n == 0)
        return sh_error_set(err, "%s: STL has no triangles", path);
    if (n > SH_IMPORT_MAX_TRIANGLES)
        return sh_error_set(err, "%s: STL declares %u triangles (at most %d)", path, n,
                            SH_IMPORT_MAX_TRIANGLES);
    if (size < 84 + (size_t)n * 50)
        return sh_error_set(err, "%s: truncated binary STL (%u triangles declared, %zu of %zu bytes present)",
                            path, n, size, 84 + (size_t)n * 50);
    for (uint32_t t = 0; t < n; t++)
    {
        const unsigned char* p = data + 84 + (size_t)t * 50 + 12; // skip the normal
        uint32_t idx[3];
        for (int c = 0; c < 3; c++)
        {
            float v[3];
            for (int k = 0; k < 3; k++)
            {
                v[k] = sh_blob_get_f32(p + 12 * c + 4 * k);
                if (!isfinite(v[k]))
                    return sh_error_set(
                        err, "%s: triangle %u has a coordinate that is not finite (NaN or infinity)", path,
                        t + 1);
            }
            int i = sh_mesh_add_vertex(m, v[0], v[1], v[2]);
            if (i < 0)
                return sh_error_set(err, "%s: out of memory", path);
            idx[c] = (uint32_t)i;
        }
        if (!sh_mesh_add_triangle(m, idx[0], idx[1], idx[2]))
            return sh_error_set(err, "%s: out of memory", path);
    }
    return sh_mesh_weld(m) || sh_error_set(err, "%s: out of memory", path);
}

// Next whitespace-separated token in [*pos, end); counts newlines into *line. Returns its length (0: end).
static size_t next_token(const char** pos, const char* end, int* line, const char** tok)
{
    const char* p = *pos;
    while (p < end && isspace((unsigned char)*p))
    {
        if (*p == '\n')
            (*line)++;
        p++;
    }
    *tok = p;
    while (p < end && !isspace((unsigned char)*p))
        p++;
    *pos = p;
    return (size_t)(p - *tok);
}

static bool token_is(const char* tok, size_t len, const char* word)
{
    return len == strlen(word) && strncmp(tok, word, len) == 0;
}

bool sh_import_stl_ascii(const char* path, const char* data, size_t size, sh_mesh* m, sh_error* err)
{
    const char *pos = data, *end = data + size, *tok;
    int line = 1;
    size_t len = next_token(&pos, end, &line, &tok);
    if (!token_is(tok, len, "solid"))
        return sh_error_set(err, "%s: not an ASCII STL (no 'solid')", path);
    // Skip the solid's name: the rest of its line.
    while (pos < end && *pos != '\n')
        pos++;
    int corners = 0, facet_line = 0, triangles = 0;
    uint32_t idx[3];
    bool in_loop = false, ended = false;
    while ((len = next_token(&pos, end, &line, &tok)) > 0)
    {
        if (token_is(tok, len, "vertex"))
        {
            if (!in_loop)
                return sh_error_set(err, "%s: line %d: 'vertex' outside 'outer loop'", path, line);
            if (corners == 3)
                return sh_error_set(err, "%s: line %d: facet with more than 3 vertices", path, line);
            float v[3];
            for (int k = 0; k < 3; k++)
            {
                len = next_token(&pos, end, &line, &tok);
                char buf[64];
                char* stop = NULL;
                if (len == 0 || len >= sizeof buf)
                    return sh_error_set(err, "%s: line %d: expected a number", path, line);
                memcpy(buf, tok, len);
                buf[len] = '\0';
                double d = strtod(buf, &stop);
                if (*stop != '\0')
                    return sh_error_set(err, "%s: line %d: '%s' is not a number", path, line, buf);
                if (!isfinite(d) || !isfinite((float)d))
                    return sh_error_set(err, "%s: line %d: coordinate is not finite (NaN or infinity)", path,
                                        line);
                v[k] = (float)d;
            }
            int i = sh_mesh_add_vertex(m, v[0], v[1], v[2]);
            if (i < 0)
                return sh_error_set(err, "%s: out of memory", path);
            idx[corners++] = (uint32_t)i;
        }
        else if (token_is(tok, len, "facet"))
        {
            if (facet_line != 0)
                return sh_error_set(err, "%s: line %d: 'facet' inside a facet", path, line);
            facet_line = line;
            corners = 0;
        }
        else if (token_is(tok, len, "outer"))
        {
            if (facet_line == 0 || in_loop)
                return sh_error_set(err, "%s: line %d: misplaced 'outer loop'", path, line);
            in_loop = true;
        }
        else if (token_is(tok, len, "endloop"))
        {
            if (!in_loop || corners != 3)
                return sh_error_set(err, "%s: line %d: a facet needs exactly 3 vertices", path, line);
            in_loop = false;
        }
        else if (token_is(tok, len, "endfacet"))
        {
            if (facet_line == 0 || in_loop || corners != 3)
                return sh_error_set(err, "%s: line %d: misplaced 'endfacet'", path, line);
            if (++triangles > SH_IMPORT_MAX_TRIANGLES)
                return sh_error_set(err, "%s: more than %d triangles", path, SH_IMPORT_MAX_TRIANGLES);
            if (!sh_mesh_add_triangle(m, idx[0], idx[1], idx[2]))
                return sh_error_set(err, "%s: out of memory", path);
            facet_line = 0;
        }
        else if (token_is(tok, len, "endsolid"))
        {
            ended = true;
            break;
        }
        // Anything else ("normal", its numbers, "loop") is structure we do not need.
    }
    if (facet_line != 0)
        return sh_error_set(err, "%s: truncated ASCII STL (the facet at line %d is not closed)", path,
                            facet_line);
    if (!ended)
        return sh_error_set(err, "%s: truncated ASCII STL (no 'endsolid')", path);
    if (m->triangle_count == 0)
        return sh_error_set(err, "%s: STL has no triangles", path);
    return sh_mesh_weld(m) || sh_error_set(err, "%s: out of memory", path);
}
