// The configuration `simhost cluster` hands HAProxy. Line for line the directives of
// docs/haproxy.cfg (spec/cluster_spec.lua compares them), with the values written in instead of
// taken from the environment, and one `server` line per host. Why each setting is what it is:
// docs/haproxy.cfg's comments and docs/deploy.md.
#include "haproxy_config.h"

static const char global_and_defaults[] = "global\n"
                                          "    log stderr format raw local0 notice\n"
                                          "\n"
                                          "defaults\n"
                                          "    mode http\n"
                                          "    log global\n"
                                          "    timeout connect 5s\n"
                                          "    timeout client 60s\n"
                                          "    timeout server 60s\n"
                                          "    timeout tunnel 3600s\n"
                                          "    timeout client-fin 5s\n"
                                          "    timeout http-request 10s\n"
                                          "    timeout queue 30s\n"
                                          "    retries 3\n"
                                          "    option redispatch 1\n"
                                          "    retry-on conn-failure empty-response response-timeout 503\n"
                                          "\n";

bool sh_haproxy_config_write(FILE* out, const sh_haproxy_setup* s)
{
    fputs("# Written by simhost cluster: docs/haproxy.cfg's settings for these hosts.\n", out);
    fputs(global_and_defaults, out);
    fprintf(out,
            "frontend simhost\n"
            "    bind \"%s:%d\"\n"
            "    default_backend hosts\n"
            "\n"
            "backend hosts\n"
            "    balance leastconn\n"
            "    http-response set-header X-Simhost-Server %%[srv_name]\n"
            "    option httpchk GET /api/v1/health\n"
            "    http-check expect status 200\n"
            "    default-server check inter \"%s\" fall 2 rise 2 weight 100 maxconn \"%d\" agent-check "
            "agent-inter \"%s\"\n",
            s->bind_host, s->bind_port, s->check_inter, s->max_sessions, s->check_inter);
    for (int i = 0; i < s->host_count; i++)
        fprintf(out, "    server host%d \"127.0.0.1:%d\" agent-port \"%d\"\n", i + 1, s->hosts[i].port,
                s->hosts[i].agent_port);
    return fflush(out) == 0 && !ferror(out);
}
