-- `luarocks --lua-version=5.4 make [--tree DIR]` from the repository root builds the `simhost` C module
-- with the repository's own CMake build (the one build: same flags, same sources) and installs
-- build-rock/lua/simhost.so as the module `simhost`. Its C dependencies (libwebsockets, SQLite, cglm,
-- Lua 5.4 headers) come from Debian packages, as for the rest of simhost (README), not from rocks.
rockspec_format = "3.0"
package = "simhost"
version = "scm-1"
source = {
  url = "git+file://.", -- `luarocks make` builds the checkout it runs in; nothing is fetched
}
description = {
  summary = "Lua-scriptable rigid-body simulation host: physics, asset DB, WebSocket live view",
  detailed = [[
The Lua 5.4 module of simhost: worlds and bodies (3D rigid-body physics), the SQLite asset DB,
frame encoding and the host API session scripts see.]],
  license = "MIT",
}
dependencies = {
  "lua >= 5.4, < 5.5",
}
build = {
  type = "command",
  -- A build directory of its own (build-rock/, git-ignored like build-*/), so a developer's build/ is never
  -- touched or reused with other flags; reconfigured from scratch if its cache belongs to another checkout.
  build_command = [[
    (cmake -S . -B build-rock -DCMAKE_BUILD_TYPE=Release -DSH_WERROR=OFF -DSH_SANITIZE=OFF >/dev/null ||
      (rm -rf build-rock && cmake -S . -B build-rock -DCMAKE_BUILD_TYPE=Release -DSH_WERROR=OFF -DSH_SANITIZE=OFF)) &&
    cmake --build build-rock --target simhost_lua -j 2
  ]],
  install = {
    lib = { simhost = "build-rock/lua/simhost.so" },
  },
}
