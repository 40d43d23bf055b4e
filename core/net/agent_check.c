// HAProxy's agent check (`agent-check agent-port P` on a server line, docs/haproxy.cfg): HAProxy
// connects every agent-inter, reads one line and closes. The line carries the host's headroom and
// state (docs/deploy.md):
//   "up ready N%"  serving; N = free share of max_sessions, which HAProxy applies to the server's
//                  weight. "ready" because only the agent can undo its own "drain"/"maint": a host
//                  restarted on the same port (a rolling restart) would otherwise stay drained.
//   "drain"        draining: running sessions stay, HAProxy sends no new ones.
//   "maint"        stopping.
// A thread of its own, not the lws loop: it only reads atomics, and a blocked or slow check can never
// delay a frame. lws 4.1 has one service thread and we keep it for the sessions.
#include "net_internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct sh_agent
{
    sh_server* server;
    int listen_fd;
    int wake[2]; // a byte on wake[1] ends the thread
    int port;
    pthread_t thread;
};

int sh_agent_line(sh_server_state state, int sessions, int max_sessions, char* buf, size_t size)
{
    if (state == SH_SERVER_DRAINING)
        return snprintf(buf, size, "drain\n");
    if (state == SH_SERVER_STOPPING)
        return snprintf(buf, size, "maint\n");
    int free_slots = max_sessions - sessions;
    if (free_slots < 0)
        free_slots = 0;
    int pct = max_sessions > 0 ? (int)((long long)free_slots * 100 / max_sessions) : 0;
    return snprintf(buf, size, "up ready %d%%\n", pct);
}

static void answer(sh_agent* a, int fd)
{
    char line[32];
    int n = sh_agent_line(sh_server_get_state(a->server), atomic_load(&a->server->session_count),
                          a->server->cfg.max_sessions, line, sizeof line);
    // One short line into an empty socket buffer: a single send, never blocking (MSG_DONTWAIT).
    if (send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) != n)
        sh_log("agent check: cannot answer: %s", strerror(errno));
    close(fd);
}

static void* agent_thread(void* arg)
{
    sh_agent* a = arg;
    for (;;)
    {
        struct pollfd fds[2] = {{.fd = a->listen_fd, .events = POLLIN}, {.fd = a->wake[0], .events = POLLIN}};
        if (poll(fds, 2, -1) < 0)
        {
            if (errno == EINTR)
                continue;
            sh_log("agent check: poll: %s", strerror(errno));
            return NULL;
        }
        if (fds[1].revents != 0)
            return NULL;
        if (fds[0].revents & POLLIN)
        {
            int fd = accept(a->listen_fd, NULL, NULL);
            if (fd >= 0)
                answer(a, fd);
        }
    }
}

static bool listen_on(sh_agent* a, const char* numeric_host, int port, sh_error* err)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, numeric_host, &addr.sin_addr) != 1)
        return sh_error_set(err, "agent check: bad address %s", numeric_host);
    a->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (a->listen_fd < 0)
        return sh_error_set(err, "agent check: cannot create a socket: %s", strerror(errno));
    int one = 1;
    setsockopt(a->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(a->listen_fd, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(a->listen_fd, 16) != 0)
        return sh_error_set(err, "cannot listen on %s:%d for the agent check: %s", numeric_host, port,
                            strerror(errno));
    return true;
}

static void close_fds(sh_agent* a)
{
    if (a->listen_fd >= 0)
        close(a->listen_fd);
    if (a->wake[0] >= 0)
        close(a->wake[0]);
    if (a->wake[1] >= 0)
        close(a->wake[1]);
}

bool sh_agent_start(sh_server* server, const char* numeric_host, int port, sh_agent** out, sh_error* err)
{
    *out = NULL;
    sh_agent* a = sh_alloc_zeroed(sizeof *a);
    if (a == NULL)
        return sh_error_set(err, "out of memory");
    a->server = server;
    a->port = port;
    a->listen_fd = a->wake[0] = a->wake[1] = -1;
    bool ok = listen_on(a, numeric_host, port, err);
    if (ok && pipe(a->wake) != 0)
        ok = sh_error_set(err, "agent check: pipe: %s", strerror(errno));
    for (int i = 0; ok && i < 2; i++)
        fcntl(a->wake[i], F_SETFD, FD_CLOEXEC);
    if (ok && pthread_create(&a->thread, NULL, agent_thread, a) != 0)
        ok = sh_error_set(err, "agent check: cannot start its thread");
    if (!ok)
    {
        close_fds(a);
        sh_free(a, sizeof *a);
        return false;
    }
    *out = a;
    return true;
}

void sh_agent_stop(sh_agent* a)
{
    if (a == NULL)
        return;
    char byte = 0;
    while (write(a->wake[1], &byte, 1) < 0 && errno == EINTR)
    {
    }
    pthread_join(a->thread, NULL);
    close_fds(a);
    sh_free(a, sizeof *a);
}

int sh_agent_port(const sh_agent* a)
{
    return a != NULL ? a->port : 0;
}
