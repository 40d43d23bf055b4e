// The host `simhost soak` drives: start, kill -9, restart on the same port, and what /proc says of it.
#include "soak_host.h"

#include "soak_ws.h"

#include "simhost/base.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static bool port_open(int port)
{
    soak_ws w;
    if (!soak_ws_tcp(&w, port))
        return false;
    soak_ws_close(&w);
    return true;
}

static void describe_exit(soak_host* h, int status)
{
    if (WIFSIGNALED(status))
        snprintf(h->died, sizeof h->died, "killed by signal %d", WTERMSIG(status));
    else
        snprintf(h->died, sizeof h->died, "exited with status %d",
                 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

bool soak_host_start(soak_host* h)
{
    char port_s[16], max_s[16];
    snprintf(port_s, sizeof port_s, "%d", h->port);
    snprintf(max_s, sizeof max_s, "%d", h->max_sessions);
    h->died[0] = '\0';
    // The program's own path, read in the parent: under `valgrind --trace-children=yes` readlink answers
    // the client's path, while exec of /proc/self/exe would start Valgrind's tool binary as the client.
    char exe[4096] = "/proc/self/exe";
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0)
        exe[n] = '\0';
    else
        snprintf(exe, sizeof exe, "/proc/self/exe");
    h->pid = fork();
    if (h->pid == 0)
    {
        // stdout and stderr into the log, nothing else of the soak's left open: its fds are counted.
        int log = open(h->log, O_WRONLY | O_CREAT | O_APPEND, 0644), null = open("/dev/null", O_RDONLY);
        if (log >= 0)
            dup2(log, 1), dup2(log, 2), close(log);
        if (null >= 0)
            dup2(null, 0), close(null);
        execl(exe, "simhost", "serve", "--port", port_s, "--max-sessions", max_s, "--recordings",
              h->recordings, (char*)NULL);
        _exit(127);
    }
    if (h->pid < 0)
    {
        h->pid = 0;
        snprintf(h->died, sizeof h->died, "cannot fork");
        return false;
    }
    // 30 s: a restarted host binds at once, but a loaded machine (or Valgrind) starts it slowly.
    double up = sh_now() + 30;
    while (!port_open(h->port) && sh_now() < up && soak_host_alive(h))
        usleep(20000);
    if (h->pid != 0 && port_open(h->port))
        return true;
    if (h->pid != 0)
    {
        soak_host_kill(h);
        snprintf(h->died, sizeof h->died, "did not accept connections within 30 s");
    }
    return false;
}

bool soak_host_alive(soak_host* h)
{
    if (h->pid == 0)
        return false;
    int status;
    if (waitpid(h->pid, &status, WNOHANG) == 0)
        return true;
    describe_exit(h, status);
    h->pid = 0;
    return false;
}

void soak_host_kill(soak_host* h)
{
    if (h->pid == 0)
        return;
    kill(h->pid, SIGKILL);
    waitpid(h->pid, NULL, 0);
    h->pid = 0;
}

bool soak_host_stop(soak_host* h)
{
    if (h->pid == 0)
        return false;
    kill(h->pid, SIGTERM);
    int status = 0;
    double deadline = sh_now() + 30;
    pid_t r;
    while ((r = waitpid(h->pid, &status, WNOHANG)) == 0 && sh_now() < deadline)
        usleep(20000);
    if (r == 0)
    {
        soak_host_kill(h);
        snprintf(h->died, sizeof h->died, "did not exit within 30 s of SIGTERM");
        return false;
    }
    h->pid = 0;
    describe_exit(h, status);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

long soak_host_rss_kb(const soak_host* h)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)h->pid);
    FILE* f = h->pid != 0 ? fopen(path, "r") : NULL;
    long kb = -1;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmRSS: %ld", &kb) == 1)
            break;
    if (f != NULL)
        fclose(f);
    return kb;
}

int soak_host_fds(const soak_host* h)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/fd", (int)h->pid);
    DIR* d = h->pid != 0 ? opendir(path) : NULL;
    if (d == NULL)
        return -1;
    int n = 0;
    for (struct dirent* e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

void soak_host_print_fds(const soak_host* h)
{
    char dir[64], target[512];
    snprintf(dir, sizeof dir, "/proc/%d/fd", (int)h->pid);
    DIR* d = h->pid != 0 ? opendir(dir) : NULL;
    for (struct dirent* e; d != NULL && (e = readdir(d)) != NULL;)
    {
        ssize_t len = readlinkat(dirfd(d), e->d_name, target, sizeof target - 1);
        if (len > 0)
            printf("  host fd %s -> %.*s\n", e->d_name, (int)len, target);
    }
    if (d != NULL)
        closedir(d);
}

int soak_host_open_recordings(const soak_host* h, char (*paths)[512], int max)
{
    char dir[64];
    snprintf(dir, sizeof dir, "/proc/%d/fd", (int)h->pid);
    DIR* d = h->pid != 0 ? opendir(dir) : NULL;
    if (d == NULL)
        return 0;
    int n = 0;
    for (struct dirent* e; n < max && (e = readdir(d)) != NULL;)
    {
        ssize_t len = readlinkat(dirfd(d), e->d_name, paths[n], sizeof paths[n] - 1);
        if (len <= 3)
            continue;
        paths[n][len] = '\0';
        n += strcmp(paths[n] + len - 3, ".db") == 0;
    }
    closedir(d);
    return n;
}

int soak_host_sessions(const soak_host* h)
{
    soak_ws w;
    if (!soak_ws_tcp(&w, h->port))
        return -1;
    static const char get[] = "GET /api/v1/health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    char buf[2048];
    size_t len = 0;
    struct timeval two = {.tv_sec = 2}; // a hung host must not hang the soak: recv gives up
    setsockopt(w.fd, SOL_SOCKET, SO_RCVTIMEO, &two, sizeof two);
    if (soak_ws_send_raw(&w, get, sizeof get - 1, 2))
    {
        double deadline = sh_now() + 2;
        ssize_t r;
        while (sh_now() < deadline && len + 1 < sizeof buf &&
               (r = recv(w.fd, buf + len, sizeof buf - 1 - len, 0)) > 0)
            len += (size_t)r;
    }
    soak_ws_close(&w);
    buf[len] = '\0';
    const char* p = strstr(buf, "\"sessions\":");
    return p != NULL ? atoi(p + 11) : -1;
}
