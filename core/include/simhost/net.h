#pragma once
// Kept so code written against the old all-in-one header still builds: new code includes what it
// uses — server.h (the program's view of the live host) or lua.h (the Lua module and the session
// contract). To be removed once no file includes it.

#include "simhost/lua.h"
#include "simhost/server.h"
