#pragma once
// The global `host` that the live server's REPLs see (repl_host.c; docs/repl.md).

#include "simhost/base.h"

#include <lua.h>

typedef struct sh_server sh_server;

// Sets the global `host` in L: stats(), config, assets, sessions(), session(id). The server must outlive L.
// Returns false with err set when the table could not be built (out of memory).
bool sh_repl_set_host(lua_State* L, sh_server* server, sh_error* err);
