-- Starts and stops a real `simhost serve` on a free loopback port, and speaks plain HTTP to it.
local socket = require "socket"
local luassert = require "luassert"
local env = require "env"

local server = {}
server.__index = server

-- A port nobody listens on right now: bind to port 0, read what the kernel picked, release it.
function server.free_port()
  local s = assert(socket.bind("127.0.0.1", 0))
  local _, port = s:getsockname()
  s:close()
  return tonumber(port)
end

-- Raw HTTP/1.1 GET (the path is sent exactly as given, so traversal attempts reach the server
-- unnormalised). Returns status, headers (lower-case names), body; or nil, "closed" when the
-- server drops the connection without a response.
function server.get(port, path, timeout)
  local c = assert(socket.tcp())
  c:settimeout(timeout or 10)
  assert(c:connect("127.0.0.1", port))
  assert(c:send("GET " .. path .. " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"))
  local status_line, err = c:receive("*l")
  if not status_line then
    c:close()
    return nil, err -- the server dropped the connection without answering
  end
  local status = tonumber(status_line:match("^HTTP/1%.%d (%d+)"))
  local headers = {}
  while true do
    local line = assert(c:receive("*l"))
    if line == "" then break end
    local k, v = line:match("^([^:]+):%s*(.*)$")
    if k then headers[k:lower()] = v end
  end
  local body
  local n = tonumber(headers["content-length"])
  if n then
    body = n > 0 and assert(c:receive(n)) or ""
  else
    local rest, _, partial = c:receive("*a")
    body = rest or partial
  end
  c:close()
  return status, headers, body
end

-- Runs a shell command line in the background, its stderr into log; returns the pipe (close it to
-- reap) and the process id of the command itself (exec'd, so signals reach it, not a shell).
function server.spawn(cmd, log)
  local proc = io.popen("sh -c " .. env.q("echo $$; exec " .. cmd .. " 2>" .. env.q(log)) .. " </dev/null")
  local pid = tonumber(proc:read("*l"))
  assert(pid, "no pid from: " .. cmd)
  return proc, pid
end

local function sleep(s)
  socket.sleep(s)
end

-- opts: assets, scripts, web, args (string of extra flags). Returns a handle; call :stop().
function server.start(opts)
  opts = opts or {}
  local self = setmetatable({}, server)
  self.port = server.free_port()
  self.dir = env.tmpdir()
  self.log = self.dir .. "/server.log"
  local cmd = string.format("%s serve --port %d --assets %s", env.q(env.bin), self.port, env.q(opts.assets or env.db))
  if opts.scripts then cmd = cmd .. " --scripts " .. env.q(opts.scripts) end
  if opts.web then cmd = cmd .. " --web " .. env.q(opts.web) end
  if opts.args then cmd = cmd .. " " .. opts.args end
  -- Test hosts never close an idle connection unless the spec asks (protocol_spec's idle tests do): a
  -- spec that holds a configured session while it works must not depend on the machine's speed
  -- (repl_host_spec's misuse test took 153 s under ASan at load 10, and its session was closed at 60 s).
  if not (opts.args and opts.args:find("--idle-timeout", 1, true)) then cmd = cmd .. " --idle-timeout 0" end
  self.proc, self.pid = server.spawn(cmd, self.log)
  self.url = "ws://127.0.0.1:" .. self.port .. "/api/v1/live"
  local deadline = socket.gettime() + (env.sanitize and 30 or 10)
  while socket.gettime() < deadline do
    local ok, status = pcall(server.get, self.port, "/api/v1/health", 1)
    if ok and status == 200 then return self end
    if not self:alive() then break end
    sleep(0.05)
  end
  local log = self:read_log()
  self:stop()
  error("server did not come up:\n" .. log)
end

function server:alive()
  return os.execute("kill -0 " .. self.pid .. " 2>/dev/null") == true
end

function server:read_log()
  local f = io.open(self.log, "rb")
  if not f then return "" end
  local s = f:read("a")
  f:close()
  return s
end

-- The health body; 200 while serving, 503 while draining or stopping (the body says which).
function server:health()
  local status, _, body = server.get(self.port, "/api/v1/health")
  assert(status == 200 or status == 503, "health answered " .. tostring(status))
  return require("cjson").decode(body)
end

-- Waits (at most `timeout` seconds) for the process to exit on its own; returns its exit code, or nil
-- when it is still running at the deadline. A zombie counts as exited (kill -0 would still see it).
function server:wait_exit(timeout)
  local deadline = socket.gettime() + timeout
  while socket.gettime() < deadline do
    local f = io.open("/proc/" .. self.pid .. "/stat", "r")
    local stat = f and f:read("l")
    if f then f:close() end
    if not stat or stat:match("^%d+ %b() Z") then
      self.stopped = true
      local _, how, code = self.proc:close()
      self.exit_code = how == "exit" and code or -1
      self.final_log = self:read_log()
      env.rmtree(self.dir)
      return self.exit_code
    end
    sleep(0.05)
  end
  return nil
end

-- Open file descriptors and threads of the server process (Linux /proc).
function server:fd_count()
  local p = io.popen("ls /proc/" .. self.pid .. "/fd | wc -l")
  local n = tonumber(p:read("*l"))
  p:close()
  return n
end

function server:thread_count()
  local p = io.popen("ls /proc/" .. self.pid .. "/task | wc -l")
  local n = tonumber(p:read("*l"))
  p:close()
  return n
end

-- SIGTERM, then wait; returns the exit code (0 on a clean shutdown; ASan leak reports make it 23).
function server:stop(signal)
  if self.stopped then return self.exit_code end
  self.stopped = true
  os.execute("kill -" .. (signal or "TERM") .. " " .. self.pid .. " 2>/dev/null")
  local _, how, code = self.proc:close()
  self.exit_code = how == "exit" and code or -1
  self.final_log = self:read_log()
  env.rmtree(self.dir)
  return self.exit_code
end

-- stop, and check the host exited 0 (under ASan a leak report makes it non-zero), its log in the message.
function server:stop_clean()
  luassert.equal(0, self:stop(), "exit status after SIGTERM (ASan leak report?)\n" .. (self.final_log or ""))
end

return server
