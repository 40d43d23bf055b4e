// GET /api/v1/health: the HTTP health check (docs/protocol.md, docs/deploy.md). 503 while draining or
// stopping: HAProxy's `option httpchk` then takes the host out of the farm even without the agent
// check, and its running sessions (tunnels) are left alone.
#include "net_internal.h"

#include <stdio.h>

int sh_health_json(const sh_server* server, char* buf, size_t size)
{
    sh_server_stats st;
    sh_server_get_stats(server, &st);
    // alloc_bytes (ext): the core's counted allocations (outboxes, messages, worlds), a statistic.
    snprintf(buf, size,
             "{\"status\":\"%s\",\"sessions\":%d,\"max_sessions\":%d,\"sessions_total\":%llu,"
             "\"uptime_s\":%.3f,\"alloc_bytes\":%lld}",
             sh_server_state_name(st.state), st.sessions, st.max_sessions,
             (unsigned long long)st.sessions_total, st.uptime_s, (long long)st.alloc_bytes);
    return st.state == SH_SERVER_SERVING ? 200 : 503;
}
