// simhost.ws — placeholder until its issue lands.
#include "l_simhost.h"

void sh_l_ws_register(lua_State* L)
{
    (void)L;
}
