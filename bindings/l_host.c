// simhost.host — placeholder until its issue lands.
#include "l_simhost.h"

void sh_l_host_register(lua_State* L)
{
    (void)L;
}
