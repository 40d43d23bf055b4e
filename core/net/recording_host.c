// The host's recordings settings (docs/recordings.md): where recordings go, and what a session's
// script learns of it (session.recording = {dir, all, max_mb}).
#include "net_internal.h"
#include "replay_cache.h"

#include <errno.h>
#include <lauxlib.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char* dup_string(const char* s)
{
    size_t n = strlen(s) + 1;
    char* d = sh_alloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}

bool sh_replay_setup(sh_server* server, sh_error* err)
{
    char dir[PATH_MAX];
    const char* given = server->cfg.recordings_dir;
    if (given != NULL)
        snprintf(dir, sizeof dir, "%s", given);
    else
    {
        // Beside the asset DB: `recordings/` in the DB's directory.
        const char* db = server->assets_path;
        const char* slash = strrchr(db, '/');
        if (slash == NULL)
            snprintf(dir, sizeof dir, "recordings");
        else
            snprintf(dir, sizeof dir, "%.*s/recordings", (int)(slash - db), db);
    }
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        sh_log("recordings directory %s: %s; recordings will fail", dir, strerror(errno));
    char resolved[PATH_MAX];
    server->recordings_dir = dup_string(realpath(dir, resolved) != NULL ? resolved : dir);
    if (server->recordings_dir == NULL)
        return sh_error_set(err, "out of memory");
    server->cfg.recordings_dir = server->recordings_dir;
    int parts = sh_rec_sweep_parts(server->recordings_dir, 60);
    if (parts > 0)
        sh_log("recordings: removed %d unfinished file%s (ID.db.part) left by a host stopped while creating "
               "a recording; none held a frame",
               parts, parts == 1 ? "" : "s");
    server->replay_cache = sh_replay_cache_create();
    if (server->replay_cache == NULL)
        return sh_error_set(err, "out of memory");
    return true;
}

void sh_session_push_recording(lua_State* L, sh_server* server)
{
    lua_getiuservalue(L, -1, 1); // the session object's field table
    lua_createtable(L, 0, 3);
    lua_pushstring(L, server->recordings_dir);
    lua_setfield(L, -2, "dir");
    lua_pushboolean(L, server->cfg.record_all);
    lua_setfield(L, -2, "all");
    lua_pushnumber(L, server->cfg.max_recordings_mb);
    lua_setfield(L, -2, "max_mb");
    lua_pushinteger(L, server->cfg.snapshot_every);
    lua_setfield(L, -2, "snapshot_every");
    lua_setfield(L, -2, "recording");
    lua_pop(L, 1);
}
