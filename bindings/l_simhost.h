#pragma once
// Private to the bindings: registration entry points of the `simhost` Lua module, one per Lua type /
// sub-table, and what the binding files share. Each sh_l_*_register(L) expects the module table on top
// of the stack and adds its fields to it. The module's public API is simhost/lua.h.

#include "simhost/assets.h"
#include "simhost/lua.h"

#include <lauxlib.h>
#include <lua.h>

void sh_l_assets_register(lua_State* L);    // simhost.assets
void sh_l_world_register(lua_State* L);     // simhost.world
void sh_l_host_register(lua_State* L);      // simhost.host (filled by the server for sessions)
void sh_l_ws_register(lua_State* L);        // simhost.ws (blocking WebSocket client)
void sh_l_recording_register(lua_State* L); // simhost.recorder, simhost.recording (l_recording.c)

// The asset DB userdata (metatable "simhost.assets") is owned by l_assets.c; l_world.c pins it as the
// world's user value so the DB outlives the world.
#define SH_L_ASSETS_META "simhost.assets"
#define SH_L_WORLD_META  "simhost.world"
// The world of an open simhost.world at arg (argument error otherwise), and the asset a body was spawned
// from: its id (0 unknown), and *name as w:body gives it (valid until the next call on that world).
typedef struct sh_world sh_world;
sh_world* sh_l_check_world(lua_State* L, int arg);
int sh_l_world_body_asset(lua_State* L, int arg, int64_t body_id, const char** name);
// Raises a Lua argument error unless arg is an open asset DB; returns it.
sh_asset_db* sh_l_check_assets(lua_State* L, int arg);
