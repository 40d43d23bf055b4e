// simhost.assets — placeholder until its issue lands.
#include "l_simhost.h"

void sh_l_assets_register(lua_State* L)
{
    (void)L;
}
