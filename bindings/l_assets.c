// simhost.assets — placeholder until the foundation issue lands.
#include "l_simhost.h"

void sh_l_assets_register(lua_State* L)
{
    (void)L;
}

sh_asset_db* sh_l_check_assets(lua_State* L, int arg)
{
    luaL_argerror(L, arg, "asset DB expected");
    return NULL;
}
