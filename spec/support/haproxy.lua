-- A real HAProxy (Debian's haproxy 2.6) in front of three hosts, run from docs/haproxy.cfg itself,
-- its addresses given through the environment as that file documents.
local socket = require "socket"
local env = require "env"
local server = require "server"

local haproxy = {}
haproxy.__index = haproxy

haproxy.bin = os.getenv("SIMHOST_HAPROXY") or "/usr/sbin/haproxy"
haproxy.config = env.source_dir .. "/docs/haproxy.cfg"

-- hosts: three server handles (spec/support/server.lua) with an agent_port field each.
-- opts.max_sessions (their --max-sessions), opts.inter (check interval, e.g. "200ms").
function haproxy.start(hosts, opts)
  assert(#hosts == 3, "docs/haproxy.cfg names three hosts")
  local self = setmetatable({}, haproxy)
  self.port = server.free_port()
  self.dir = env.tmpdir()
  self.log = self.dir .. "/haproxy.log"
  local vars = {
    "SIMHOST_BIND=127.0.0.1:" .. self.port,
    "SIMHOST_MAX_SESSIONS=" .. opts.max_sessions,
    "SIMHOST_CHECK_INTER=" .. opts.inter,
  }
  for i, h in ipairs(hosts) do
    vars[#vars + 1] = string.format("SIMHOST_HOST%d=127.0.0.1:%d", i, h.port)
    vars[#vars + 1] = string.format("SIMHOST_AGENT%d=%d", i, h.agent_port)
  end
  -- Without the ASan runtime the sanitized spec run preloads for the Lua module: haproxy is not ours.
  self.proc, self.pid = server.spawn("env -u LD_PRELOAD " .. table.concat(vars, " ") .. " " .. env.q(haproxy.bin) .. " -f " ..
    env.q(haproxy.config) .. " -db", self.log)
  self.url = "ws://127.0.0.1:" .. self.port .. "/api/v1/live"
  return self
end

function haproxy:read_log()
  local f = io.open(self.log, "rb")
  if not f then return "" end
  local s = f:read("a")
  f:close()
  return s
end

-- Polls GET /api/v1/health through the proxy until every name in `names` has answered (HAProxy's
-- X-Simhost-Server header), i.e. each host is up as HAProxy sees it; false at the deadline.
-- Any table with a `port` will do as self (e.g. the proxy of `simhost cluster`).
function haproxy.wait_serving(self, names, timeout)
  local want = {}
  for _, n in ipairs(names) do want[n] = true end
  local deadline = socket.gettime() + timeout
  while socket.gettime() < deadline do
    local ok, status, headers = pcall(server.get, self.port, "/api/v1/health", 2)
    if ok and status == 200 and headers["x-simhost-server"] then want[headers["x-simhost-server"]] = nil end
    if next(want) == nil then return true end
    socket.sleep(0.02)
  end
  return false
end

function haproxy:stop()
  if self.stopped then return end
  self.stopped = true
  os.execute("kill -TERM " .. self.pid .. " 2>/dev/null")
  self.proc:close()
  self.final_log = self:read_log()
  env.rmtree(self.dir)
end

return haproxy
