// luaopen_simhost: the module table. Each Lua type lives in its own l_*.c and registers itself here.
#include "l_simhost.h"

#include "simhost/base.h"

int luaopen_simhost(lua_State* L)
{
    lua_newtable(L);
    lua_pushliteral(L, SH_VERSION);
    lua_setfield(L, -2, "version");
    sh_l_assets_register(L);
    sh_l_world_register(L);
    sh_l_host_register(L);
    sh_l_ws_register(L);
    sh_l_recording_register(L);
    return 1;
}
