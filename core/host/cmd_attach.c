// simhost attach PATH — the client of the socket REPL (protocol in repl_server.h). It relays: lines from
// the terminal (readline, with the server's prompt and the server's completions) or from a pipe go to the
// server; output frames go to stdout, error frames to stderr. Piped, the exit status is the server's
// verdict (1 if any chunk failed), as with piped `simhost repl`; at a terminal it is 0 after Ctrl-D. A
// broken connection is 1 either way.
#include "cli.h"
#include "repl.h"

#include <errno.h>
#include <readline/history.h>
#include <readline/readline.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_FRAME (1u << 20) // the server's frames are at most 64 KiB; anything far larger is not ours

static const char usage[] = "usage: simhost attach PATH\n";

typedef struct conn
{
    int fd;
    char buf[8192];
    size_t start;
    size_t end;
} conn;

typedef enum wait_result
{
    GOT_PROMPT,
    GOT_MATCHES,
    GOT_EXIT,
    LOST
} wait_result;

// readline's callbacks take no user pointer: the connection and the interrupt flags live here, touched by
// the main thread and (only g_fd, g_running, g_sigint) by the SIGINT handler.
static conn* g_conn;
static volatile int g_fd = -1;
static volatile sig_atomic_t g_running; // a chunk is running on the server: Ctrl-C interrupts it there
static volatile sig_atomic_t g_sigint;
static bool g_interactive;
static char g_prompt[64] = "> ";
static bool g_server_said_bye; // an x frame arrived

static int read_byte(conn* c)
{
    while (c->start == c->end)
    {
        ssize_t n = recv(c->fd, c->buf, sizeof c->buf, 0);
        if (n < 0 && errno == EINTR)
            continue; // the handler already sent the interrupt byte
        if (n <= 0)
            return -1;
        c->start = 0;
        c->end = (size_t)n;
    }
    return (unsigned char)c->buf[c->start++];
}

// Reads one frame; the payload is malloc'ed (NUL-terminated) and owned by the caller. False on EOF/garbage.
static bool read_frame(conn* c, char* tag, char** payload, size_t* len)
{
    char head[32];
    size_t n = 0;
    int ch;
    while ((ch = read_byte(c)) >= 0 && ch != '\n')
    {
        if (n + 1 >= sizeof head)
            return false;
        head[n++] = (char)ch;
    }
    if (ch < 0 || n < 3 || head[1] != ' ')
        return false;
    head[n] = '\0';
    char* endp = NULL;
    unsigned long size = strtoul(head + 2, &endp, 10);
    if (*endp != '\0' || size > MAX_FRAME)
        return false;
    char* p = malloc(size + 1);
    if (p == NULL)
        return false;
    for (size_t i = 0; i < size; i++)
    {
        if ((ch = read_byte(c)) < 0)
        {
            free(p);
            return false;
        }
        p[i] = (char)ch;
    }
    p[size] = '\0';
    *tag = head[0];
    *payload = p;
    *len = size;
    return true;
}

// Handles frames until the server wants input (a prompt), has answered a completion request, or ends.
// For GOT_MATCHES the payload is handed out in *matches; for GOT_EXIT the status in *status.
static wait_result wait_server(conn* c, char** matches, int* status)
{
    for (;;)
    {
        char tag;
        char* payload;
        size_t len;
        if (!read_frame(c, &tag, &payload, &len))
            return LOST;
        switch (tag)
        {
            case 'o':
                fwrite(payload, 1, len, stdout);
                fflush(stdout); // a relay holds nothing back: progress of a long chunk shows as it comes
                break;
            case 'e':
                fflush(stdout);
                fwrite(payload, 1, len, stderr);
                fflush(stderr);
                break;
            case 'i':
                if (g_interactive)
                    fwrite(payload, 1, len, stdout);
                break;
            case 'p':
            case 'c':
                snprintf(g_prompt, sizeof g_prompt, "%s", payload);
                free(payload);
                fflush(stdout);
                return GOT_PROMPT;
            case 'm':
                if (matches != NULL)
                {
                    *matches = payload;
                    return GOT_MATCHES;
                }
                break;
            case 'x':
                g_server_said_bye = true;
                *status = atoi(payload) == 0 ? SH_EXIT_OK : SH_EXIT_FAIL;
                free(payload);
                fflush(stdout);
                return GOT_EXIT;
            default:
                break; // unknown frames are skipped: a newer server may add some
        }
        free(payload);
    }
}

static bool send_all(int fd, const char* data, size_t len)
{
    while (len > 0)
    {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        data += n;
        len -= (size_t)n;
    }
    return true;
}

// Sends one line of input. A leading 0x01 would make it a request, so it becomes a space (harmless in Lua).
static bool send_line(int fd, const char* line, size_t len)
{
    while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
        len--;
    if (memchr(line, '\n', len) != NULL)
        return false;
    if (len > 0 && line[0] == '\x01')
    {
        if (!send_all(fd, " ", 1))
            return false;
        line++;
        len--;
    }
    return send_all(fd, line, len) && send_all(fd, "\n", 1);
}

// --- interactive ---------------------------------------------------------------------------------

static void on_sigint(int sig)
{
    (void)sig;
    if (g_running && g_fd >= 0)
        (void)send(g_fd, "\x03", 1, MSG_NOSIGNAL); // send() is async-signal-safe
    else
        g_sigint = 1;
}

static int on_signal_event(void)
{
    if (!g_sigint)
        return 0;
    g_sigint = 0;
    rl_replace_line("", 0);
    fputs("^C\n", rl_outstream);
    if (strcmp(g_prompt, "> ") != 0)
    {
        // The server holds the unfinished chunk: drop it there too, and take its fresh prompt.
        int status = 0;
        static const char req[] = "\x01"
                                  "discard\n";
        if (send_all(g_conn->fd, req, sizeof req - 1) && wait_server(g_conn, NULL, &status) == GOT_PROMPT)
            rl_set_prompt(g_prompt);
    }
    rl_on_new_line();
    rl_redisplay();
    return 0;
}

typedef struct match_list
{
    char* data; // the m frame's payload, one candidate per line
    char* next;
} match_list;

static match_list g_matches;

static char* next_match(const char* text, int state)
{
    if (state == 0)
    {
        free(g_matches.data);
        g_matches = (match_list){0};
        char req[600];
        int n = snprintf(req, sizeof req,
                         "\x01"
                         "complete %s\n",
                         text);
        int status = 0;
        if (n > 0 && (size_t)n < sizeof req && strchr(text, '\n') == NULL &&
            send_all(g_conn->fd, req, (size_t)n) &&
            wait_server(g_conn, &g_matches.data, &status) == GOT_MATCHES)
            g_matches.next = g_matches.data;
    }
    if (g_matches.next == NULL || *g_matches.next == '\0')
    {
        free(g_matches.data);
        g_matches = (match_list){0};
        return NULL;
    }
    char* nl = strchr(g_matches.next, '\n');
    size_t len = nl ? (size_t)(nl - g_matches.next) : strlen(g_matches.next);
    char* out = malloc(len + 1);
    if (out == NULL)
        return NULL;
    memcpy(out, g_matches.next, len);
    out[len] = '\0';
    g_matches.next += nl ? len + 1 : len;
    return out;
}

static char** attempt_completion(const char* text, int start, int end)
{
    (void)start;
    (void)end;
    rl_attempted_completion_over = 1;
    rl_completion_append_character = 0;
    return rl_completion_matches(text, next_match);
}

// --- main --------------------------------------------------------------------------------------

static int finish(conn* c)
{
    shutdown(c->fd, SHUT_WR); // EOF: the server reports an unfinished chunk and sends x
    int status = SH_EXIT_FAIL;
    wait_result r;
    do
        r = wait_server(c, NULL, &status);
    while (r == GOT_PROMPT);
    if (r != GOT_EXIT)
    {
        fputs("simhost attach: connection closed by the server\n", stderr);
        return SH_EXIT_FAIL;
    }
    return status;
}

static int relay(conn* c)
{
    char hist_buf[4096];
    const char* hist = NULL;
    int added = 0;
    if (g_interactive)
    {
        static char word_breaks[] = " \t\n\"\\'`@$><=;|&{(+-*/%^~#,[]"; // as cmd_repl.c: keep a.b:c whole
        rl_readline_name = "simhost";
        rl_attempted_completion_function = attempt_completion;
        rl_completer_word_break_characters = word_breaks;
        rl_catch_signals = 0;
        rl_signal_event_hook = on_signal_event;
        struct sigaction sa = {0};
        sa.sa_handler = on_sigint;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        hist = sh_repl_history_load(hist_buf, sizeof hist_buf);
    }
    char* line = NULL;
    size_t cap = 0;
    int status = SH_EXIT_FAIL;
    for (;;)
    {
        g_running = 1;
        wait_result r = wait_server(c, NULL, &status);
        g_running = 0;
        if (r == GOT_EXIT)
            break;
        if (r != GOT_PROMPT)
        {
            fputs("simhost attach: connection closed by the server\n", stderr);
            status = SH_EXIT_FAIL;
            break;
        }
        size_t len;
        if (g_interactive)
        {
            free(line);
            line = readline(g_prompt);
            if (line == NULL)
            {
                putchar('\n');
                // As `simhost repl` at a terminal: errors were shown as they happened; only a broken
                // connection makes the detach itself a failure.
                status = finish(c) == SH_EXIT_OK || g_server_said_bye ? SH_EXIT_OK : SH_EXIT_FAIL;
                break;
            }
            len = strlen(line);
            if (len > 0)
            {
                add_history(line);
                added++;
            }
        }
        else
        {
            ssize_t got = getline(&line, &cap, stdin);
            if (got < 0)
            {
                status = finish(c);
                break;
            }
            len = (size_t)got;
        }
        if (!send_line(c->fd, line, len))
        {
            fputs("simhost attach: connection closed by the server\n", stderr);
            status = SH_EXIT_FAIL;
            break;
        }
    }
    free(line);
    if (g_interactive)
    {
        sh_repl_history_save(hist, added);
        free(g_matches.data);
        g_matches = (match_list){0};
        signal(SIGINT, SIG_DFL);
    }
    return status;
}

int sh_cmd_attach(int argc, char** argv)
{
    if (argc == 1 && (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0))
    {
        fputs(usage, stdout);
        return SH_EXIT_OK;
    }
    if (argc != 1 || argv[0][0] == '-')
    {
        fputs(usage, stderr);
        return SH_EXIT_USAGE;
    }
    const char* path = argv[0];
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof addr.sun_path)
    {
        fprintf(stderr, "simhost attach: %s: socket path too long\n", path);
        return SH_EXIT_USAGE;
    }
    memcpy(addr.sun_path, path, strlen(path) + 1);
    conn* c = calloc(1, sizeof *c);
    if (c == NULL)
    {
        fputs("simhost attach: out of memory\n", stderr);
        return SH_EXIT_FAIL;
    }
    c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (c->fd < 0 || connect(c->fd, (struct sockaddr*)&addr, sizeof addr) != 0)
    {
        fprintf(stderr, "simhost attach: %s: %s\n", path, strerror(errno));
        if (c->fd >= 0)
            close(c->fd);
        free(c);
        return SH_EXIT_FAIL;
    }
    g_conn = c;
    g_fd = c->fd;
    g_interactive = isatty(STDIN_FILENO);
    int status = relay(c);
    g_fd = -1;
    g_conn = NULL;
    close(c->fd);
    free(c);
    return status;
}
