-- The session sandbox (docs/session-api.md, "The sandbox"): each attack a buggy or hostile session
-- script can make ends that session alone, with an `error` line and a close, while a neighbour session
-- keeps streaming. Each limit is tested alone: the CPU attacks run on a host whose memory cap they
-- cannot reach, the memory attacks on one whose CPU budget they cannot reach (two limits racing made an
-- earlier spec flaky).
local env = require "env"
local server = require "server"
local cjson = require "cjson"
local ws = require "ws"
local scripts_dir = require "scripts_dir"

local run_cases_src = [==[
local function show(...)
  local out = {}
  for i = 1, select("#", ...) do
    local v = select(i, ...)
    if type(v) == "string" then v = v:gsub("^.-:%d+: ", "") end -- chunk names differ
    out[i] = type(v) .. ":" .. tostring(v)
  end
  return table.concat(out, ",")
end

function run_cases(cases)
  local out = {}
  for i, c in ipairs(cases) do
    local s, p, init = c[1], c[2], c[3]
    local r = {}
    r[1] = show(pcall(string.find, s, p, init))
    r[2] = show(pcall(string.find, s, p, init, true))
    r[3] = show(pcall(string.match, s, p, init))
    local ok, err = pcall(function()
      local acc = {}
      for a, b in string.gmatch(s, p) do acc[#acc + 1] = show(a, b) end
      return table.concat(acc, "|")
    end)
    r[4] = show(ok, err)
    r[5] = show(pcall(string.gsub, s, p, "<%0>"))
    r[6] = show(pcall(string.gsub, s, p, "[%1]", 2))
    r[7] = show(pcall(string.gsub, s, p, function(x) return x and #tostring(x) or false end))
    r[8] = show(pcall(string.gsub, s, p, { a = "A", b = false }))
    out[i] = table.concat(r, " ; ")
  end
  return out
end
]==]

local attack = [==[
local M = {}
local A = {}
]==] .. run_cases_src .. [==[

local function spin() while true do end end

-- The neighbour: `stream N` sends N numbered control messages (never dropped), one per timer tick.
function A.stream(session, n)
  session.left, session.n = tonumber(n), 0
  session:set_timer(0.002)
end

function A.echo(session, s) session:send(s) end

-- CPU: no way to remove or reset the hook, so each of these ends at --lua-cpu-ms.
function A.unhook()
  pcall(function() debug.sethook() end)
  pcall(function() require("debug").sethook() end)
  pcall(function() package.loaded.debug.sethook() end)
  spin()
end

function A.pattern(session)
  -- 20 quantifiers on 30 000 'a's: ~10^70 steps for a backtracking matcher, all inside one C call.
  local s = string.rep("a", 30000)
  session:send(tostring(s:find(string.rep("a*", 20) .. "b")))
end

function A.gmatch(session)
  local s = string.rep("a", 30000)
  for w in s:gmatch(string.rep("a-", 20) .. "b") do session:send(w) end
end

function A.table_sort()
  -- 2^30 elements that exist only through C metamethods: no Lua instruction, no allocation.
  local t = setmetatable({}, { __len = function() return 1 << 30 end, __index = rawlen, __newindex = rawequal })
  table.sort(t)
end

function A.table_move()
  table.move({}, 1, math.maxinteger - 1, 2)
end

function A.coroutine(session)
  local co = coroutine.create(spin)
  local ok, err = coroutine.resume(co) -- the CPU error, caught inside the coroutine...
  session:send("survived " .. tostring(ok) .. " " .. tostring(err)) -- ...must not let the script go on
  local w = coroutine.wrap(function() pcall(spin) end)
  pcall(w)
end

function A.rep_empty(session)
  -- allocates nothing, so the memory cap would not stop a 2^63-step loop
  session:send("rep " .. #string.rep("", math.maxinteger) .. " " .. #string.rep("", 1 << 62, ""))
end

-- Memory: the cap holds whatever the script catches.
function A.bomb(session)
  pcall(function()
    local t = {}
    for i = 1, math.maxinteger do t[i] = string.rep("x", 4096) .. i end
  end)
  session:send("survived the bomb")
  pcall(string.rep, "x", 1 << 30) -- 1 GiB: under string.rep's 2 GiB limit, over the cap
  session:send("survived rep")
end

function A.rep_bomb(session)
  local ok, err = pcall(string.rep, "x", 1 << 30) -- 1 GiB: under string.rep's 2 GiB limit, over the cap
  session:send("survived rep " .. tostring(ok) .. " " .. tostring(err))
end

function A.reset(session)
  pcall(function() debug.getregistry()["simhost.memory_charge"](-(1 << 40)) end)
  pcall(function() collectgarbage("stop") end)
  A.bomb(session)
end

-- Errors: the library a session does not get.
function A.gc()
  setmetatable({}, { __gc = spin })
end

function A.gc_steal(session)
  local mt = getmetatable(session.assets)
  mt.__gc = spin
end

function A.binary()
  -- a Lua 5.4 precompiled chunk's header
  assert(load("\27LuaT\0\25\147\13\10\26\10\4\8\8\120\86\0\0\0\0\0\0\0\0\0\0\0\40\119\64\1"))
end

function A.json_dag()
  -- 30 levels of a table holding its child twice: 2^30 copies of a 1 KB string in cjson's own buffer
  local t = string.rep("j", 1024)
  for _ = 1, 30 do t = { t, t } end
  require("lib.json").encode(t)
end

function A.loadlib() package.loadlib("libc.so.6", "system")() end
function A.popen() io.popen("id") end
function A.exit() os.exit(3) end
function A.execute() os.execute("true") end
function A.require_c() require "socket.core" end
function A.loadfile() assert(loadfile("/etc/passwd")) end
function A.dofile_up(session) dofile(session.scripts_dir .. "/../secret.lua") end

-- The bounded string functions against the same cases the spec runs through the stock ones.
function A.patterns(session, arg)
  local cases = require("cjson").decode(arg)
  session:send(require("cjson").encode(run_cases(cases)))
end

function M.on_message(session, raw)
  local cmd, arg = raw:match("^(%S+)%s*(.*)$")
  local f = A[cmd]
  if not f then return session:send("unknown " .. tostring(cmd)) end
  f(session, arg)
end

function M.on_tick(session)
  session.n = session.n + 1
  session:send('{"n":' .. session.n .. '}')
  if session.n < session.left then return session:set_timer(0.002) end
  session:send("done")
  session:close()
end

return M
]==]

local function open(srv) return assert(ws.connect(srv.url)) end

local function recv(c, timeout)
  local m, err = c:receive(timeout or 60)
  if not m then error("no message: " .. tostring(err), 2) end
  return m
end

-- Runs `cmd` on a fresh session while a neighbour streams 40 messages. The attacker's first message must
-- be its error (nothing it sent after the limit gets out), then the close; the neighbour gets 1..40 in
-- order and "done". Returns the error line.
local function attack_alone(srv, cmd)
  local neighbour = open(srv)
  neighbour:send("stream 40")
  local c = open(srv)
  c:send(cmd)
  local m = cjson.decode(recv(c))
  assert.equal("error", m.type, cmd)
  assert.equal("closed", select(2, c:receive(30)), cmd .. ": closed after its error")
  for i = 1, 40 do
    assert.equal('{"n":' .. i .. '}', recv(neighbour), "neighbour frame " .. i .. " during " .. cmd)
  end
  assert.equal("done", recv(neighbour))
  assert.equal("closed", select(2, neighbour:receive(30)))
  return m.message
end

describe("the session sandbox", function()
  local dir, scripts, cpu_srv, mem_srv

  setup(function()
    dir, scripts = scripts_dir.make { ["session.lua"] = attack }
    scripts_dir.write(dir, "secret.lua", "return 'outside'")
    -- CPU attacks: 200 ms of CPU per callback, and a memory cap (1 GB) none of them comes near.
    cpu_srv = server.start { scripts = scripts, args = "--workers 2 --lua-cpu-ms 200 --lua-memory-mb 1024" }
    -- Memory attacks: a 16 MB cap, and 10 minutes of CPU per callback, which filling 16 MB never takes.
    mem_srv = server.start { scripts = scripts, args = "--workers 2 --lua-cpu-ms 600000 --lua-memory-mb 16" }
  end)

  teardown(function()
    if cpu_srv then cpu_srv:stop_clean() end
    if mem_srv then mem_srv:stop_clean() end
    if dir then env.rmtree(dir) end
  end)

  for _, cmd in ipairs { "unhook", "pattern", "gmatch", "table_sort", "table_move", "coroutine" } do
    it("ends '" .. cmd .. "' at the CPU limit, alone", function()
      assert.equal("session exceeded its CPU limit", attack_alone(cpu_srv, cmd))
    end)
  end

  for _, cmd in ipairs { "bomb", "rep_bomb", "reset" } do
    it("ends '" .. cmd .. "' at the memory limit, alone", function()
      assert.equal("session exceeded its memory limit", attack_alone(mem_srv, cmd))
    end)
  end

  local refused = {
    gc = "setmetatable: __gc finalizers are not available to session scripts",
    gc_steal = "attempt to index a nil value (local 'mt')",
    binary = "attempt to load a binary chunk (mode is 't')",
    json_dag = "json encode: the output would pass the memory limit",
    loadlib = "attempt to call a nil value (field 'loadlib')",
    popen = "attempt to index a nil value (global 'io')",
    exit = "attempt to call a nil value (field 'exit')",
    execute = "attempt to call a nil value (field 'execute')",
    require_c = "module 'socket.core' not found:",
    loadfile = "cannot open /etc/passwd (outside the scripts directory)",
    dofile_up = "(outside the scripts directory)",
  }
  for cmd, want in pairs(refused) do
    it("refuses '" .. cmd .. "' with an error that ends only that session", function()
      local msg = attack_alone(cpu_srv, cmd)
      assert.truthy(msg:find(want, 1, true), cmd .. " gave: " .. msg)
    end)
  end

  it("matches patterns exactly as stock Lua does (find, match, gmatch, gsub)", function()
    local cases = {}
    local subjects = { "", "a", "hello world", "  key = value  ", "aaab", "(foo(bar))baz", "THE (quick) fox",
      "x=1, y=22, z=333", "\0a\0b", "abc123def", "one two  three", "[[x]]", "%d", "a.b.c", "café",
      ")\7z", "\7\0b" }
    local patterns = { "", "a", "^a", "a$", "^$", ".", ".-", "a*", "a+", "a-b", "a?b", "%a+", "%d+", "%s*(%S+)%s*",
      "(%w+)=(%w+)", "()a()", "%bxy", "%b()", "%f[%w]%w+", "%f[%W]", "[%a_][%w_]*", "[^%s]+", "[a-c]+", "[]]", "[^]]",
      "(a)(b)?", "((a)(b))", "(.)%1", "%", "[a", "(()", "%b", "%g+", "%x%x", "%u%l+", "%p", "%c", "[%]]", "[a-]",
      "^(%S+)%s*(.*)$", "(h)(e)(l)(l)(o)", "\0", "x*$", "%f[a]", ".-b", "(.-)%s", "a-$",
      "%z", "[%z]b", "%Z+", "\7%z" } -- %z: found by fuzz_pattern (stock 5.4 still matches it as "\0")
    for _, s in ipairs(subjects) do
      for _, p in ipairs(patterns) do
        for _, init in ipairs { 1, 3, -2, 100 } do cases[#cases + 1] = { s, p, init } end
      end
    end
    -- On the memory host: ~3000 cases x 8 calls in one callback must not race a 200 ms CPU budget.
    local c = open(mem_srv)
    c:send("patterns " .. cjson.encode(cases))
    local got = cjson.decode(recv(c))
    local want = load(run_cases_src .. " return run_cases(...)")(cases)
    assert.equal(#want, #got)
    for i = 1, #want do
      assert.equal(want[i], got[i], string.format("case %d: %q %q %d", i, cases[i][1], cases[i][2], cases[i][3]))
    end
    c:close()
  end)

  it("answers string.rep of empty strings at once (no 2^63-step loop)", function()
    local c = open(cpu_srv)
    c:send("rep_empty")
    assert.equal("rep 0 0", recv(c))
    c:send("echo still here")
    assert.equal("still here", recv(c))
    c:close()
  end)
end)
