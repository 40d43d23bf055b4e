#pragma once
// The host `simhost soak` drives (soak_host.c): a `simhost serve` child on a loopback port, recording
// into a directory of the soak's, that can be killed with SIGKILL and started again on the same port;
// its RSS, open fds and open sessions read from /proc and /api/v1/health.
#include <stdbool.h>
#include <sys/types.h>

typedef struct soak_host
{
    int port, max_sessions;
    const char* recordings; // --recordings DIR
    const char* log;        // the hosts' stderr, appended over every restart
    pid_t pid;              // 0: not running
    char died[96];          // set when the host exited on its own: how ("killed by signal 11")
} soak_host;

// Starts the host and waits (at most 30 s) until its port accepts; false (and the child reaped) if not.
bool soak_host_start(soak_host* h);
// false once the host exited on its own (h->died says how); true while it runs.
bool soak_host_alive(soak_host* h);
// SIGKILL and reap: the fault the soak injects.
void soak_host_kill(soak_host* h);
// SIGTERM and wait (at most 30 s, then SIGKILL): true when it exited 0.
bool soak_host_stop(soak_host* h);
long soak_host_rss_kb(const soak_host* h);
int soak_host_fds(const soak_host* h);
// Prints each open fd and what it points at (a leak's diagnosis).
void soak_host_print_fds(const soak_host* h);
// The recordings the host has open (being written), their paths into paths[0..max); returns how many.
int soak_host_open_recordings(const soak_host* h, char (*paths)[512], int max);
// The open session count from /api/v1/health, or -1.
int soak_host_sessions(const soak_host* h);
