// `simhost assets build`: the default asset DB from a sources directory. The manifest `default.txt` lists
// one asset per line, in id order (format: docs/assets.md):
//     SHAPE NAME CATEGORY PARAM...      e.g.  box unit_cube primitive 1 1 1
// A text manifest of generator lines keeps the shapes reviewable in a diff (a changed size is one number),
// and meshes that no generator makes come from STL/OBJ files beside it (`mesh NAME CATEGORY FILE`).
#include "mesh.h"
#include "shapes.h"

#include "simhost/assets.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_TOKENS 12

typedef struct shape_kind
{
    const char* name;
    int params;          // numbers after NAME CATEGORY (0: a file name instead)
    const char* usage;   // for the error message
    unsigned int_params; // bit i: parameter i is a positive integer
} shape_kind;

static const shape_kind kinds[] = {
    {"box", 3, "box NAME CATEGORY SX SY SZ", 0},
    {"icosphere", 2, "icosphere NAME CATEGORY RADIUS SUBDIVISIONS", 1u << 1},
    {"pyramid", 2, "pyramid NAME CATEGORY BASE_SIDE HEIGHT", 0},
    {"cylinder", 3, "cylinder NAME CATEGORY RADIUS HEIGHT SEGMENTS", 1u << 2},
    {"capsule", 4, "capsule NAME CATEGORY RADIUS LENGTH SEGMENTS RINGS", 1u << 2 | 1u << 3},
    {"wedge", 3, "wedge NAME CATEGORY LENGTH WIDTH HEIGHT", 0},
    {"tetrahedron", 1, "tetrahedron NAME CATEGORY EDGE", 0},
    {"mesh", 0, "mesh NAME CATEGORY FILE", 0},
};

// Makes the mesh a manifest line describes; err gets a message without the line prefix.
static bool make_shape(const shape_kind* kind, char** tok, const char* sources_dir, sh_mesh* m, sh_error* err)
{
    if (kind->params == 0)
    {
        char path[4096];
        if (tok[3][0] == '/')
            snprintf(path, sizeof path, "%s", tok[3]);
        else
            snprintf(path, sizeof path, "%s/%s", sources_dir, tok[3]);
        return sh_mesh_load(path, m, err);
    }
    double p[4] = {0};
    for (int i = 0; i < kind->params; i++)
    {
        char* end = NULL;
        errno = 0;
        p[i] = strtod(tok[3 + i], &end);
        bool integer = (kind->int_params >> i) & 1u;
        if (end == tok[3 + i] || *end != '\0' || errno != 0 || !isfinite(p[i]) || p[i] <= 0 || p[i] > 1e4 ||
            (integer && (p[i] != floor(p[i]) || p[i] > 256)))
            return sh_error_set(err, "parameter '%s' must be a positive %s (usage: %s)", tok[3 + i],
                                integer ? "integer up to 256" : "number up to 1e4", kind->usage);
    }
    const float a = (float)p[0], b = (float)p[1], c = (float)p[2];
    bool ok = false;
    if (strcmp(kind->name, "box") == 0)
        ok = sh_shape_box(m, a, b, c);
    else if (strcmp(kind->name, "icosphere") == 0)
    {
        if (p[1] > 5)
            return sh_error_set(err, "icosphere subdivisions must be 1..5");
        ok = sh_shape_icosphere(m, a, (int)p[1]);
    }
    else if (strcmp(kind->name, "pyramid") == 0)
        ok = sh_shape_pyramid(m, a, b);
    else if (strcmp(kind->name, "cylinder") == 0)
    {
        if (p[2] < 3)
            return sh_error_set(err, "cylinder needs at least 3 segments");
        ok = sh_shape_cylinder(m, a, b, (int)p[2]);
    }
    else if (strcmp(kind->name, "capsule") == 0)
    {
        if (p[2] < 3)
            return sh_error_set(err, "capsule needs at least 3 segments");
        ok = sh_shape_capsule(m, a, b, (int)p[2], (int)p[3]);
    }
    else if (strcmp(kind->name, "wedge") == 0)
        ok = sh_shape_wedge(m, a, b, c);
    else if (strcmp(kind->name, "tetrahedron") == 0)
        ok = sh_shape_tetrahedron(m, a);
    return ok || sh_error_set(err, "out of memory");
}

static bool build_into(sh_asset_db* db, FILE* manifest, const char* manifest_path, const char* sources_dir,
                       sh_error* err)
{
    char line[1024];
    int lineno = 0;
    while (fgets(line, sizeof line, manifest) != NULL)
    {
        lineno++;
        if (strchr(line, '\n') == NULL && !feof(manifest))
            return sh_error_set(err, "%s:%d: line too long", manifest_path, lineno);
        char* hash = strchr(line, '#');
        if (hash != NULL)
            *hash = '\0';
        char* tok[MAX_TOKENS + 1];
        int n = 0;
        for (char *save = NULL, *t = strtok_r(line, " \t\r\n", &save); t != NULL;
             t = strtok_r(NULL, " \t\r\n", &save))
        {
            if (n == MAX_TOKENS)
                return sh_error_set(err, "%s:%d: too many fields", manifest_path, lineno);
            tok[n++] = t;
        }
        if (n == 0)
            continue;
        const shape_kind* kind = NULL;
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++)
            if (strcmp(tok[0], kinds[k].name) == 0)
                kind = &kinds[k];
        if (kind == NULL)
            return sh_error_set(err, "%s:%d: unknown shape '%s'", manifest_path, lineno, tok[0]);
        int want = 3 + (kind->params == 0 ? 1 : kind->params);
        if (n != want)
            return sh_error_set(err, "%s:%d: expected %d fields (%s)", manifest_path, lineno, want,
                                kind->usage);
        sh_mesh m = {0};
        sh_error why = {{0}};
        bool ok = make_shape(kind, tok, sources_dir, &m, &why) &&
                  sh_assets_import_mesh(db, tok[1], tok[2], m.xyz, m.vertex_count, m.indices,
                                        m.triangle_count, NULL, &why);
        sh_mesh_free(&m);
        if (!ok)
            return sh_error_set(err, "%s:%d: %s", manifest_path, lineno, why.message);
    }
    if (ferror(manifest))
        return sh_error_set(err, "%s: read error", manifest_path);
    if (sh_assets_count(db) == 0)
        return sh_error_set(err, "%s: no assets listed", manifest_path);
    return true;
}

bool sh_assets_build(const char* sources_dir, const char* out_path, sh_error* err)
{
    char manifest_path[4096], tmp[4096];
    snprintf(manifest_path, sizeof manifest_path, "%s/default.txt", sources_dir);
    snprintf(tmp, sizeof tmp, "%s.tmp-%ld", out_path, (long)getpid());
    FILE* f = fopen(manifest_path, "r");
    if (f == NULL)
        return sh_error_set(err, "%s: %s", manifest_path, errno == ENOENT ? "no such file" : strerror(errno));
    unlink(tmp);
    sh_asset_db* db = NULL;
    bool ok = sh_assets_create(tmp, &db, err) && build_into(db, f, manifest_path, sources_dir, err);
    fclose(f);
    sh_assets_close(db);
    if (ok && rename(tmp, out_path) != 0)
        ok = sh_error_set(err, "%s: %s", out_path, strerror(errno));
    if (!ok)
        unlink(tmp);
    return ok;
}
