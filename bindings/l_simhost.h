#pragma once
// Registration entry points of the `simhost` Lua module, one per Lua type / sub-table.
// Each sh_l_*_register(L) expects the module table on top of the stack and adds its fields to it.

#include <lauxlib.h>
#include <lua.h>

#define SH_LUA_EXPORT __attribute__((visibility("default")))

void sh_l_assets_register(lua_State* L);    // simhost.assets
void sh_l_world_register(lua_State* L);     // simhost.world
void sh_l_host_register(lua_State* L);      // simhost.host (filled by the server for sessions)
void sh_l_ws_register(lua_State* L);        // simhost.ws (blocking WebSocket client)
void sh_l_recording_register(lua_State* L); // simhost.recorder, simhost.recording (l_recording.c)

// Pushes the line print() would write for all the arguments on the stack: each through tostring
// (__tostring and __name honoured), tab-separated, newline-ended. For prints that go elsewhere (REPLs).
void sh_l_push_print_line(lua_State* L);

// Opens the module and leaves its table on the stack (also used by the host program's own states).
SH_LUA_EXPORT int luaopen_simhost(lua_State* L);

// Shared between the binding files. The asset DB userdata (metatable "simhost.assets") is owned by
// l_assets.c; l_world.c pins it as the world's user value so the DB outlives the world.
#include "simhost/assets.h"
#define SH_L_ASSETS_META "simhost.assets"
#define SH_L_WORLD_META  "simhost.world"
// A host that caps a Lua state's memory (simhost serve's sessions) stores a function under this
// registry key; the module calls it with the change, in bytes, of the C memory it holds for that state
// (worlds and their buffers), so the cap covers what a script builds in C too. The function raises when
// the cap is passed. Without it (repl, run, a plain lua5.4) nothing is charged.
#define SH_L_CHARGE_KEY "simhost.memory_charge"
// The world of an open simhost.world at arg (argument error otherwise), and a body's asset name as
// w:body gives it (valid until the next call on that world).
typedef struct sh_world sh_world;
sh_world* sh_l_check_world(lua_State* L, int arg);
const char* sh_l_world_asset_name(lua_State* L, int arg, int asset_id);
// Raises a Lua argument error unless arg is an open asset DB; returns it.
sh_asset_db* sh_l_check_assets(lua_State* L, int arg);
// Pushes an asset DB userdata. owned = false lends a DB the caller keeps (the server's shared DB: reads
// are thread-safe, see assets.h); Lua then never closes it.
void sh_l_push_assets(lua_State* L, sh_asset_db* db, bool owned);

// The `session` object a live-session script sees (l_host.c; docs/session-api.md). The host passes
// its session and the functions that act on it (net links the bindings, not the other way round).
#include "simhost/net.h"
// `db` is the server's shared, read-only asset DB, lent to the script as session.assets.
void sh_l_host_push_session(lua_State* L, sh_session* s, const sh_session_ops* ops,
                            const sh_session_limits* limits, const char* scripts_dir, const char* assets_path,
                            sh_asset_db* db);
