// simhost assets list | show NAME | import FILE --name NAME [--category C] | build [--out FILE] [--sources
// DIR] Every failure is one line on stderr, "simhost assets: <what>", exit 1; bad usage exits 2.
#include "cli.h"

#include "simhost/assets.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef SH_SOURCE_DIR
#define SH_SOURCE_DIR "."
#endif

static const char usage_all[] =
    "usage: simhost assets COMMAND [options]\n"
    "  list                         the assets: id, name, category, vertices, hull faces, volume\n"
    "  show NAME|ID                 one asset in full: mesh, bounds, hull, mass properties\n"
    "  import FILE --name NAME [--category C]\n"
    "                               add a binary/ASCII STL or OBJ mesh (hull and mass computed)\n"
    "  build [--out FILE] [--sources DIR]\n"
    "                               build an asset DB from DIR/default.txt (docs/assets.md)\n"
    "options: --db FILE  the asset DB (default: the default asset DB); --help for each command\n";

static const char usage_list[] =
    "usage: simhost assets list [--db FILE]\n"
    "Lists every asset: id, name, category, render vertices (as a triangle list),\n"
    "hull faces and hull volume (m³).\n";
static const char usage_show[] =
    "usage: simhost assets show NAME|ID [--db FILE]\n"
    "Prints one asset: render mesh, bounds, hull, mass properties at density 1.\n";
static const char usage_import[] =
    "usage: simhost assets import FILE --name NAME [--category C] [--db FILE]\n"
    "Adds a mesh (binary STL, ASCII STL or OBJ) under a new unique NAME (letters, digits, _ . -).\n"
    "The convex hull and its mass properties are computed and stored in one transaction; on any\n"
    "error the DB is left unchanged. Category defaults to 'imported'.\n";
static const char usage_build[] =
    "usage: simhost assets build [--out FILE] [--sources DIR]\n"
    "Builds an asset DB from DIR/default.txt (default DIR: the source tree's assets/) into FILE\n"
    "(default: the default asset DB), replacing it only when the build succeeded.\n";

typedef struct args
{
    const char* db;
    const char* out;
    const char* sources;
    const char* name;
    const char* category;
    const char* positional[2];
    int positional_count;
    bool help;
} args;

static int usage_error(const char* usage, const char* fmt, const char* what)
{
    fputs("simhost assets: ", stderr);
    fprintf(stderr, fmt, what);
    fputc('\n', stderr);
    fputs(usage, stderr);
    return SH_EXIT_USAGE;
}

// Parses options; `allowed` lists the option names this command takes. Returns -1 on success, else an exit
// code.
static int parse(int argc, char** argv, const char* allowed, const char* usage, args* a)
{
    for (int i = 0; i < argc; i++)
    {
        const char* s = argv[i];
        if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0)
        {
            a->help = true;
            continue;
        }
        if (strncmp(s, "--", 2) == 0)
        {
            const char* value_of[] = {"--db", "--out", "--sources", "--name", "--category"};
            const char** slot[] = {&a->db, &a->out, &a->sources, &a->name, &a->category};
            int which = -1;
            for (int k = 0; k < 5; k++)
                if (strcmp(s, value_of[k]) == 0 && strstr(allowed, value_of[k]) != NULL)
                    which = k;
            if (which < 0)
                return usage_error(usage, "unknown option '%s'", s);
            if (i + 1 >= argc)
                return usage_error(usage, "option '%s' needs a value", s);
            *slot[which] = argv[++i];
            continue;
        }
        if (a->positional_count == 2)
            return usage_error(usage, "unexpected argument '%s'", s);
        a->positional[a->positional_count++] = s;
    }
    return -1;
}

static int fail(const char* message)
{
    fprintf(stderr, "simhost assets: %s\n", message);
    return SH_EXIT_FAIL;
}

static int cmd_list(const args* a)
{
    if (a->positional_count != 0)
        return usage_error(usage_list, "unexpected argument '%s'", a->positional[0]);
    sh_asset_db* db = NULL;
    sh_error err = {{0}};
    if (!sh_assets_open(a->db, false, &db, &err))
        return fail(err.message);
    printf("%4s  %-24s %-14s %9s %11s %14s\n", "id", "name", "category", "vertices", "hull faces",
           "volume (m³)");
    for (int i = 0; i < sh_assets_count(db); i++)
    {
        const sh_asset_info* in = sh_assets_info_at(db, i);
        printf("%4d  %-24s %-14s %9d %11d %14.6g\n", in->asset_id, in->name, in->category, in->vertex_count,
               in->hull_face_count, in->volume);
    }
    sh_assets_close(db);
    return SH_EXIT_OK;
}

static const sh_asset_info* lookup(const sh_asset_db* db, const char* key)
{
    const sh_asset_info* in = sh_assets_find(db, key);
    if (in == NULL)
    {
        char* end = NULL;
        long id = strtol(key, &end, 10);
        if (end != key && *end == '\0' && id > 0 && id < 1000000000)
            in = sh_assets_find_id(db, (int)id);
    }
    return in;
}

static int cmd_show(const args* a)
{
    if (a->positional_count != 1)
        return usage_error(usage_show, "%s", "show needs exactly one NAME or ID");
    sh_asset_db* db = NULL;
    sh_error err = {{0}};
    if (!sh_assets_open(a->db, false, &db, &err))
        return fail(err.message);
    const sh_asset_info* in = lookup(db, a->positional[0]);
    if (in == NULL)
    {
        snprintf(err.message, sizeof err.message, "%s: no asset named '%s'", a->db, a->positional[0]);
        sh_assets_close(db);
        return fail(err.message);
    }
    const sh_hull* h = sh_assets_hull(db, in->asset_id, &err);
    int tri = 0, quad = 0, other = 0;
    for (int f = 0; f < h->face_count; f++)
    {
        tri += h->faces[f].count == 3;
        quad += h->faces[f].count == 4;
        other += h->faces[f].count > 4;
    }
    const float *lo = in->bounds_min, *hi = in->bounds_max;
    const sh_mass_props* mp = &h->mass;
    printf("asset %d: %s\n", in->asset_id, in->name);
    printf("  category       %s\n", in->category);
    printf("  render mesh    %d triangles, %d vertices (%d as a triangle list)\n", in->triangle_count,
           in->mesh_vertex_count, in->vertex_count);
    printf("  bounds         min (%g, %g, %g)  max (%g, %g, %g)  size %g x %g x %g m\n", lo[0], lo[1], lo[2],
           hi[0], hi[1], hi[2], hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]);
    printf("  hull           %d vertices, %d faces (%d triangles, %d quads, %d larger), %d edges\n",
           h->vertex_count, h->face_count, tri, quad, other, h->edge_count);
    printf("  volume         %.6g m³ (hull; mass in kg at density 1)\n", mp->volume);
    if (in->mesh_volume > 0)
        printf("  mesh volume    %.6g m³ (the render mesh is closed)\n", in->mesh_volume);
    else
        printf("  mesh volume    - (the render mesh is not closed)\n");
    printf("  centroid       (%.6g, %.6g, %.6g) m\n", mp->centroid[0], mp->centroid[1], mp->centroid[2]);
    printf("  inertia        about the centroid, density 1 (kg·m²):\n");
    for (int r = 0; r < 3; r++) // cglm is column-major: inertia[col][row]
        printf("                 [%12.6g %12.6g %12.6g ]\n", mp->inertia[0][r], mp->inertia[1][r],
               mp->inertia[2][r]);
    sh_assets_close(db);
    return SH_EXIT_OK;
}

static int cmd_import(const args* a)
{
    if (a->positional_count != 1)
        return usage_error(usage_import, "%s", "import needs exactly one FILE");
    if (a->name == NULL)
        return usage_error(usage_import, "%s", "import needs --name NAME");
    const char* category = a->category ? a->category : "imported";
    sh_asset_db* db = NULL;
    sh_mesh mesh = {0};
    sh_error err = {{0}};
    int id = 0;
    // Open first: a DB that is missing or not an asset DB, or a taken name, is reported before the mesh
    // is read. Nothing is written unless every check passed (one transaction in sh_assets_import_mesh).
    bool ok = sh_assets_open(a->db, true, &db, &err);
    if (ok && sh_assets_find(db, a->name) != NULL)
        ok = sh_error_set(&err, "%s: asset '%s' already exists", a->db, a->name);
    ok = ok && sh_mesh_load(a->positional[0], &mesh, &err);
    ok = ok && sh_assets_import_mesh(db, a->name, category, mesh.xyz, mesh.vertex_count, mesh.indices,
                                     mesh.triangle_count, &id, &err);
    if (ok)
    {
        const sh_asset_info* in = sh_assets_find_id(db, id);
        printf("imported %s as asset %d: %d triangles, hull %d vertices / %d faces, volume %.6g m³\n",
               in->name, id, in->triangle_count, in->hull_vertex_count, in->hull_face_count, in->volume);
    }
    sh_mesh_free(&mesh);
    sh_assets_close(db);
    return ok ? SH_EXIT_OK : fail(err.message);
}

static int cmd_build(const args* a)
{
    if (a->positional_count != 0)
        return usage_error(usage_build, "unexpected argument '%s'", a->positional[0]);
    const char* out = a->out ? a->out : a->db;
    const char* sources = a->sources ? a->sources : SH_SOURCE_DIR "/assets";
    sh_error err = {{0}};
    if (!sh_assets_build(sources, out, &err))
        return fail(err.message);
    sh_asset_db* db = NULL;
    if (!sh_assets_open(out, false, &db, &err))
        return fail(err.message);
    printf("built %s: %d assets from %s/default.txt\n", out, sh_assets_count(db), sources);
    sh_assets_close(db);
    return SH_EXIT_OK;
}

int sh_cmd_assets(int argc, char** argv)
{
    if (argc < 1)
    {
        fputs(usage_all, stderr);
        return SH_EXIT_USAGE;
    }
    const char* sub = argv[0];
    if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0 || strcmp(sub, "help") == 0)
    {
        fputs(usage_all, stdout);
        return SH_EXIT_OK;
    }
    static const struct
    {
        const char* name;
        const char* options;
        const char* usage;
        int (*run)(const args*);
    } subs[] = {
        {"list", "--db", usage_list, cmd_list},
        {"show", "--db", usage_show, cmd_show},
        {"import", "--db --name --category", usage_import, cmd_import},
        {"build", "--db --out --sources", usage_build, cmd_build},
    };
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
    {
        if (strcmp(sub, subs[i].name) != 0)
            continue;
        args a = {0};
        int rc = parse(argc - 1, argv + 1, subs[i].options, subs[i].usage, &a);
        if (rc >= 0)
            return rc;
        if (a.help)
        {
            fputs(subs[i].usage, stdout);
            return SH_EXIT_OK;
        }
        if (a.db == NULL)
            a.db = sh_default_assets_db();
        return subs[i].run(&a);
    }
    fprintf(stderr, "simhost assets: unknown command '%s'\n", sub);
    fputs(usage_all, stderr);
    return SH_EXIT_USAGE;
}
