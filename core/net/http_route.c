// The HTTP routing decision as a pure function of the request line: which answer a request gets, and
// for a static file, which path under the web root it names. No lws, no file system: http.c acts on the
// route, and spec/fuzz/fuzz_http_route.c feeds it arbitrary bytes.
#include "net_internal.h"

#include <string.h>

// The decoded request path may name a file under the web root: no "..", no backslash, no control
// character, no empty or dot segment tricks. realpath() in http.c is the real guard; this keeps the
// obvious out early.
static bool clean_path(const char* path)
{
    if (path[0] != '/')
        return false;
    for (const char* p = path; *p; p++)
        if (*p == '\\' || (unsigned char)*p < 0x20)
            return false;
    const char* seg = path;
    while (*seg == '/')
    {
        seg++;
        const char* next = strchr(seg, '/');
        size_t n = next ? (size_t)(next - seg) : strlen(seg);
        if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return false;
        seg += n;
    }
    return true;
}

sh_route sh_http_route(bool get, bool head, const char* uri, size_t len)
{
    if (uri == NULL || strlen(uri) != len) // a NUL inside the path
        return (sh_route){SH_ROUTE_BAD_PATH, NULL};
    // The replay API answers its own methods (GET, HEAD, DELETE) and their errors (replay_routes.c).
    if (strcmp(uri, "/api/v1/simulations") == 0 || strncmp(uri, "/api/v1/simulations/", 20) == 0)
        return (sh_route){SH_ROUTE_REPLAY, NULL};
    if (!get && !head)
        return (sh_route){SH_ROUTE_BAD_METHOD, NULL};
    if (strcmp(uri, "/api/v1/health") == 0)
        return (sh_route){SH_ROUTE_HEALTH, NULL};
    if (strcmp(uri, "/api/v1/live/assets") == 0)
        return (sh_route){SH_ROUTE_ASSETS, NULL};
    if (strcmp(uri, "/api/v1/live/scenarios") == 0)
        return (sh_route){SH_ROUTE_SCENARIOS, NULL};
    if (strcmp(uri, "/api") == 0 || strncmp(uri, "/api/", 5) == 0)
        return (sh_route){SH_ROUTE_NOT_FOUND, NULL};
    // One page for both: at / it opens on the recordings list, at /live on the scene editor.
    if (strcmp(uri, "/") == 0 || strcmp(uri, "/live") == 0 || strcmp(uri, "/live/") == 0)
        return (sh_route){SH_ROUTE_STATIC, "/index.html"};
    if (!clean_path(uri))
        return (sh_route){SH_ROUTE_NOT_FOUND, NULL};
    return (sh_route){SH_ROUTE_STATIC, uri};
}
