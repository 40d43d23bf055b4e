// simhost.world — placeholder until its issue lands.
#include "l_simhost.h"

void sh_l_world_register(lua_State* L)
{
    (void)L;
}
