#pragma once
// The HAProxy configuration `simhost cluster` runs: docs/haproxy.cfg's settings, for N hosts, with
// the addresses written in (haproxy_config.c).

#include <stdbool.h>
#include <stdio.h>

typedef struct sh_cluster_host
{
    int port;       // simhost serve --port (on 127.0.0.1)
    int agent_port; // --agent-port
} sh_cluster_host;

typedef struct sh_haproxy_setup
{
    const char* bind_host; // where clients connect
    int bind_port;
    int max_sessions;        // each host's --max-sessions: HAProxy's maxconn per server
    const char* check_inter; // health and agent check interval, e.g. "1s"
    const sh_cluster_host* hosts;
    int host_count;
} sh_haproxy_setup;

// Writes the configuration; false when the stream failed.
bool sh_haproxy_config_write(FILE* out, const sh_haproxy_setup* setup);
