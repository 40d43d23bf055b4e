// simhost recordings list | show ID | export ID --jsonl|--csv [--bodies ...] | rm ID | verify ID
// The recordings directory from the command line (docs/recordings.md). Every failure is one line on
// stderr, "simhost recordings: <what>", exit 1; bad usage exits 2.
#include "cli.h"
#include "l_simhost.h"
#include "net_internal.h"

#include "simhost/recording.h"

#include <lauxlib.h>
#include <limits.h>
#include <lualib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: simhost recordings COMMAND [ID] [options]\n"
    "  list                       every recording, newest first (unreadable files with why)\n"
    "  show ID                    one recording: the run, its bodies, frames and energy at both ends\n"
    "  export ID --jsonl|--csv [--bodies ID,ID,...]\n"
    "                             its frames on stdout: JSON Lines of FrameData, or CSV rows per body\n"
    "  rm ID                      delete it (also one cut by a killed host)\n"
    "  verify ID                  re-simulate it and compare every frame bit for bit; names the first\n"
    "                             frame that differs (exit 1)\n"
    "options: --dir DIR (default: recordings/ beside the asset DB), --assets FILE, --scripts DIR\n";

typedef struct args
{
    const char* cmd;
    const char* id;
    const char* dir;
    const char* assets;
    const char* scripts;
    const char* bodies;
    bool jsonl, csv;
    char dir_buf[PATH_MAX];
} args;

static int bad(const char* fmt, const char* what)
{
    fputs("simhost recordings: ", stderr);
    fprintf(stderr, fmt, what);
    fputs(" (see simhost recordings --help)\n", stderr);
    return SH_EXIT_USAGE;
}

static int failure(const char* fmt, const char* what)
{
    fputs("simhost recordings: ", stderr);
    fprintf(stderr, fmt, what);
    fputc('\n', stderr);
    return SH_EXIT_FAIL;
}

static int parse(int argc, char** argv, args* a)
{
    a->assets = sh_default_assets_db();
    a->scripts = sh_default_scripts_dir();
    for (int i = 0; i < argc; i++)
    {
        const char* s = argv[i];
        if (strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0)
        {
            fputs(usage, stdout);
            return -1;
        }
        if (strcmp(s, "--jsonl") == 0 || strcmp(s, "--csv") == 0)
        {
            *(s[2] == 'j' ? &a->jsonl : &a->csv) = true;
            continue;
        }
        if (strncmp(s, "--", 2) == 0)
        {
            if (i + 1 >= argc)
                return bad("'%s' needs a value", s);
            const char* v = argv[++i];
            if (strcmp(s, "--dir") == 0)
                a->dir = v;
            else if (strcmp(s, "--assets") == 0)
                a->assets = v;
            else if (strcmp(s, "--scripts") == 0)
                a->scripts = v;
            else if (strcmp(s, "--bodies") == 0)
                a->bodies = v;
            else
                return bad("unknown option '%s'", s);
            continue;
        }
        if (a->cmd == NULL)
            a->cmd = s;
        else if (a->id == NULL)
            a->id = s;
        else
            return bad("unexpected argument '%s'", s);
    }
    if (a->cmd == NULL)
        return bad("%s", "which command? list, show, export, rm or verify");
    if (a->dir == NULL)
    {
        const char* slash = strrchr(a->assets, '/');
        if (slash == NULL)
            snprintf(a->dir_buf, sizeof a->dir_buf, "recordings");
        else
            snprintf(a->dir_buf, sizeof a->dir_buf, "%.*s/recordings", (int)(slash - a->assets), a->assets);
        a->dir = a->dir_buf;
    }
    return 0;
}

static int cmd_list(const args* a)
{
    sh_rec_entry* list = NULL;
    int n = 0;
    sh_error err = {{0}};
    if (!sh_rec_list(a->dir, &list, &n, &err))
        return failure("%s", err.message);
    for (int i = 0; i < n; i++)
    {
        const sh_rec_entry* e = &list[i];
        if (!e->readable)
        {
            printf("%-48s unreadable: %s\n", e->id, e->error);
            continue;
        }
        const sh_rec_run* u = &e->run;
        printf("%-48s %-4s %-10s %7lld frames %5d bodies %8.1f kB  %s%s%s\n", e->id, u->source,
               u->scenario[0] ? u->scenario : "-", (long long)u->frame_count, u->body_count,
               e->bytes / 1024.0, u->complete ? "complete" : "incomplete", u->complete ? "" : ": ",
               u->complete ? "" : u->reason);
    }
    if (n == 0)
        fprintf(stderr, "simhost recordings: no recordings in %s\n", a->dir);
    sh_rec_list_free(list, n);
    return SH_EXIT_OK;
}

static int open_id(const args* a, char* path, size_t size, sh_rec_reader** r)
{
    if (a->id == NULL)
        return bad("%s", "which recording? give its ID (see simhost recordings list)");
    if (!sh_rec_path(a->dir, a->id, path, size))
        return failure("no recording '%s' (see simhost recordings list)", a->id);
    sh_error err = {{0}};
    if (r != NULL && !sh_rec_open(path, r, &err))
    {
        fprintf(stderr, "simhost recordings: %s is unreadable: %s\n", a->id, err.message);
        return SH_EXIT_FAIL;
    }
    return SH_EXIT_OK;
}

typedef struct show_ctx
{
    sh_rec_frame_row first, last;
    int64_t n;
} show_ctx;

static bool show_row(void* ud, const sh_rec_frame_row* row)
{
    show_ctx* c = ud;
    if (c->n++ == 0)
        c->first = *row;
    c->last = *row;
    return true;
}

static int cmd_show(const args* a)
{
    char path[PATH_MAX];
    sh_rec_reader* r = NULL;
    int rc = open_id(a, path, sizeof path, &r);
    if (rc != SH_EXIT_OK)
        return rc;
    const sh_rec_run* u = sh_rec_run_info(r);
    printf("id: %s\nfile: %s\ncreated: %s\nhost: %s\nsource: %s\nscenario: %s\nparams: %s\n", u->id, path,
           u->created, u->host, u->source, u->scenario[0] ? u->scenario : "-", sh_rec_text(r, "params"));
    printf("timestep_s: %g\nsubsteps: %d\ngravity: %g %g %g\nsimhost_version: %s\n", u->timestep, u->substeps,
           u->gravity[0], u->gravity[1], u->gravity[2], u->version);
    printf("complete: %s%s%s\nframes: %lld (%lld ... %lld)\nbodies: %d\nbytes: %lld\n",
           u->complete ? "yes" : "no", u->complete ? "" : " — ", u->complete ? "" : u->reason,
           (long long)u->frame_count, (long long)u->first_frame, (long long)u->last_frame, u->body_count,
           (long long)u->file_bytes);
    show_ctx c = {0};
    sh_error err = {{0}};
    if (sh_rec_rows(r, show_row, &c, &err) && c.n > 0)
    {
        double e0 = c.first.linear_ke + c.first.rotational_ke + c.first.potential_e;
        double e1 = c.last.linear_ke + c.last.rotational_ke + c.last.potential_e;
        printf("energy_first_J: %.6g\nenergy_last_J: %.6g\n", e0, e1);
    }
    sh_rec_close(r);
    return SH_EXIT_OK;
}

typedef struct export_ctx
{
    const args* a;
    int64_t* ids;
    int id_count;
    sh_buf line;
    sh_error err;
    bool failed;
} export_ctx;

static bool keep_body(void* ud, uint32_t id)
{
    export_ctx* c = ud;
    if (c->id_count == 0)
        return true;
    for (int i = 0; i < c->id_count; i++)
        if (c->ids[i] == (int64_t)id)
            return true;
    return false;
}

static bool export_frame(void* ud, const sh_rec_frame_row* row, const uint8_t* bytes, size_t len)
{
    export_ctx* c = ud;
    if (c->a->jsonl)
    {
        c->line.len = 0;
        if (!sh_replay_frame_json(&c->line, bytes, len, keep_body, c, &c->err) || c->line.failed)
        {
            c->failed = true;
            return false;
        }
        fwrite(c->line.data, 1, c->line.len, stdout);
        fputc('\n', stdout);
        return true;
    }
    sh_frame_view v;
    if (!sh_frame_decode(bytes, len, &v, &c->err))
    {
        c->failed = true;
        return false;
    }
    for (uint32_t i = 0; i < v.body_count; i++)
    {
        sh_frame_body s;
        sh_frame_body_at(&v, i, &s);
        if (!keep_body(c, s.id))
            continue;
        printf("%lld,%.9g,%u,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%.9g,%d\n",
               (long long)row->frame_id, row->simulation_time, s.id, s.position[0], s.position[1],
               s.position[2], s.orientation[0], s.orientation[1], s.orientation[2], s.orientation[3],
               s.velocity[0], s.velocity[1], s.velocity[2], s.angular_velocity[0], s.angular_velocity[1],
               s.angular_velocity[2], s.sleeping);
    }
    return true;
}

static int cmd_export(const args* a)
{
    if (a->jsonl == a->csv)
        return bad("%s", "export wants one of --jsonl or --csv");
    char path[PATH_MAX];
    sh_rec_reader* r = NULL;
    int rc = open_id(a, path, sizeof path, &r);
    if (rc != SH_EXIT_OK)
        return rc;
    export_ctx c = {.a = a};
    int64_t ids[256];
    if (a->bodies != NULL)
    {
        const char* p = a->bodies;
        while (*p)
        {
            char* end;
            long long v = strtoll(p, &end, 10);
            if (end == p || v < 0 || (*end != ',' && *end != '\0') || c.id_count == 256)
            {
                sh_rec_close(r);
                return bad("--bodies wants body ids like 1,2,3 (at most 256), got '%s'", a->bodies);
            }
            if (sh_rec_body_find(r, v) == NULL)
            {
                sh_rec_close(r);
                char what[32];
                snprintf(what, sizeof what, "%lld", v);
                return failure("the recording has no body %s", what);
            }
            ids[c.id_count++] = v;
            p = *end ? end + 1 : end;
        }
        c.ids = ids;
    }
    if (a->csv)
        puts("frame_id,simulation_time,body_id,px,py,pz,qx,qy,qz,qw,vx,vy,vz,wx,wy,wz,sleeping");
    sh_error err = {{0}};
    bool ok = sh_rec_frames(r, 0, INT64_MAX, export_frame, &c, &err);
    sh_buf_free(&c.line);
    sh_rec_close(r);
    if (!ok || c.failed)
        return failure("%s", !ok ? err.message : c.err.message);
    return fflush(stdout) == 0 ? SH_EXIT_OK : failure("%s", "cannot write stdout");
}

static int cmd_rm(const args* a)
{
    char path[PATH_MAX];
    int rc = open_id(a, path, sizeof path, NULL);
    if (rc != SH_EXIT_OK)
        return rc;
    if (unlink(path) != 0)
        return failure("cannot delete %s", path);
    char side[PATH_MAX + 8];
    snprintf(side, sizeof side, "%s-wal", path);
    unlink(side);
    snprintf(side, sizeof side, "%s-shm", path);
    unlink(side);
    printf("removed %s\n", a->id);
    return SH_EXIT_OK;
}

// verify runs lib/resume.lua's verify in a Lua state like `simhost run`'s.
static int cmd_verify(const args* a)
{
    char path[PATH_MAX];
    int rc = open_id(a, path, sizeof path, NULL);
    if (rc != SH_EXIT_OK)
        return rc;
    lua_State* L = luaL_newstate();
    if (L == NULL)
        return failure("%s", "out of memory");
    luaL_openlibs(L);
    luaL_requiref(L, "simhost", luaopen_simhost, 0);
    lua_pop(L, 1);
    lua_getglobal(L, "package");
    lua_pushfstring(L, "%s/?.lua;/usr/share/lua/5.4/?.lua;/usr/share/lua/5.4/?/init.lua", a->scripts);
    lua_setfield(L, -2, "path");
    lua_pop(L, 1);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "lib.resume");
    int status = SH_EXIT_FAIL;
    if (lua_pcall(L, 1, 1, 0) == LUA_OK)
    {
        lua_getfield(L, -1, "verify");
        lua_pushstring(L, a->assets);
        lua_pushstring(L, a->scripts);
        lua_pushstring(L, path);
        if (lua_pcall(L, 3, 1, 0) == LUA_OK && lua_istable(L, -1))
        {
            lua_getfield(L, -1, "ok");
            bool ok = lua_toboolean(L, -1);
            lua_getfield(L, -2, "message");
            printf("%s: %s\n", a->id, lua_tostring(L, -1) ? lua_tostring(L, -1) : "?");
            status = ok ? SH_EXIT_OK : SH_EXIT_FAIL;
        }
        else
            fprintf(stderr, "simhost recordings: verify %s: %s\n", a->id,
                    lua_tostring(L, -1) ? lua_tostring(L, -1) : "error");
    }
    else
        fprintf(stderr, "simhost recordings: %s\n", lua_tostring(L, -1) ? lua_tostring(L, -1) : "error");
    lua_close(L);
    return status;
}

int sh_cmd_recordings(int argc, char** argv)
{
    args a = {0};
    int rc = parse(argc, argv, &a);
    if (rc != 0)
        return rc < 0 ? SH_EXIT_OK : rc;
    if (strcmp(a.cmd, "list") == 0)
        return cmd_list(&a);
    if (strcmp(a.cmd, "show") == 0)
        return cmd_show(&a);
    if (strcmp(a.cmd, "export") == 0)
        return cmd_export(&a);
    if (strcmp(a.cmd, "rm") == 0)
        return cmd_rm(&a);
    if (strcmp(a.cmd, "verify") == 0)
        return cmd_verify(&a);
    return bad("unknown command '%s'", a.cmd);
}
