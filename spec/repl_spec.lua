-- simhost repl and simhost attach, driven as a person would: through a pipe, through a pseudo-terminal
-- (util-linux `script`, TERM=dumb so readline writes plain text), and over the Unix-socket REPL served by
-- the `simhost repl --listen PATH` debugging aid.
local env = require "env"
local socket = require "socket"

local bin = env.q(env.bin)
-- The sanitizer build is several times slower; waits scale with it, assertions do not.
local slow = env.sanitize and 4 or 1

local function slurp(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

local function spit(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

-- Runs cmd with `input` on its stdin; returns stdout, stderr, exit status.
local function run_piped(cmd, input, extra_env)
  local dir = env.tmpdir()
  spit(dir .. "/in", input)
  local full = string.format("(%s %s) <%s/in >%s/out 2>%s/err; echo $? >%s/rc", extra_env or "", cmd, dir, dir,
    dir, dir)
  os.execute(full)
  local out, err, rc = slurp(dir .. "/out"), slurp(dir .. "/err"), tonumber(slurp(dir .. "/rc"))
  env.rmtree(dir)
  return out, err, rc
end

local function repl(input, args, extra_env)
  return run_piped(bin .. " repl" .. (args and " " .. args or ""), input, extra_env)
end

-- Polls until fn() is truthy or `seconds` pass; returns fn's last value.
local function wait_for(fn, seconds)
  local deadline = socket.gettime() + seconds * slow
  repeat
    local v = fn()
    if v then return v end
    socket.sleep(0.02)
  until socket.gettime() > deadline
  return fn()
end

-- What a spec started (pty sessions, servers); closed after each spec even when an assertion failed
-- half-way, so no program outlives its spec.
local started = {}
local function close_started()
  for i = #started, 1, -1 do
    started[i]()
    started[i] = nil
  end
end

-- A program under a pseudo-terminal: send() types, expect() waits for text in what the terminal shows.
local function pty(cmd, extra_env)
  local self = { dir = env.tmpdir() }
  self.out_path = self.dir .. "/out"
  assert(os.execute("mkfifo " .. self.dir .. "/in"))
  -- The exit status is shown on the terminal too: under ASan+UBSan a leak or UB makes it non-zero.
  spit(self.dir .. "/cmd.sh", string.format("echo $$ >%s/sh.pid\nenv TERM=dumb %s %s\necho \"exit status $?\"\n",
    self.dir, extra_env or "", cmd))
  local launch = [[sh -c 'echo $$; exec script -qfc "sh $0/cmd.sh" /dev/null <"$0/in" >"$0/out" 2>&1' %s &]]
  local p = io.popen(string.format(launch, env.q(self.dir)))
  self.pid = tonumber(p:read("l"))
  p:close()
  self.input = assert(io.open(self.dir .. "/in", "w")) -- blocks until `script` opens its end
  function self.send(s)
    self.input:write(s)
    self.input:flush()
  end
  function self.output()
    return slurp(self.out_path) or ""
  end
  -- Waits for `text` to appear after position `from` (plain find); returns the end of the match.
  function self.expect(text, from, seconds)
    local e = wait_for(function()
      local _, e = self.output():find(text, from or 1, true)
      return e
    end, seconds or 10)
    assert(e, "did not see " .. string.format("%q", text) .. " in:\n" .. self.output())
    return e
  end
  -- Ctrl-D at the prompt, then the program must end with status 0.
  function self.quit()
    self.send("\4")
    self.expect("exit status 0")
    self.close()
  end
  -- Ends the session; after a failed expectation the program may still run: its shell's children (the
  -- program, by parent id) and `script` are killed, so nothing outlives the spec.
  function self.close()
    if self.closed then return end
    self.closed = true
    self.input:close()
    local gone = wait_for(function() return not os.execute("kill -0 " .. self.pid .. " 2>/dev/null") end, 10)
    if not gone then
      local sh_pid = tonumber(slurp(self.dir .. "/sh.pid") or "")
      if sh_pid then os.execute("pkill -KILL -P " .. sh_pid .. " 2>/dev/null") end
      os.execute("kill -KILL " .. self.pid .. " 2>/dev/null")
    end
    env.rmtree(self.dir)
  end
  started[#started + 1] = self.close
  return self
end

-- The socket REPL with plain states, until SIGTERM.
local function listen(path)
  local dir = env.tmpdir()
  local p = io.popen(string.format([[exec sh -c 'echo $$; exec "$0" repl --listen "$1" 2>"$2"' %s %s %s]], bin,
    env.q(path), env.q(dir .. "/err")))
  local server = { pid = tonumber(p:read("l")), dir = dir, path = path }
  server.ready = p:read("l")
  function server.stop()
    if server.stopped or not server.pid then return server.status end
    os.execute("kill -TERM " .. server.pid .. " 2>/dev/null")
    local _, _, code = p:close()
    server.stopped, server.status = true, code
    server.err = slurp(dir .. "/err")
    env.rmtree(dir)
    return code
  end
  started[#started + 1] = server.stop
  return server
end

local function attach(path, input)
  return run_piped(bin .. " attach " .. env.q(path), input)
end

describe("simhost repl, piped", function()
  it("prints exactly the output of print(1+1) and exits 0", function()
    local out, _, rc = repl("print(1+1)\n")
    assert.equal("2\n", out)
    assert.equal(0, rc)
  end)

  it("prints the value of an expression without `return`", function()
    local out, _, rc = repl("1+1\n")
    assert.equal("2\n", out)
    assert.equal(0, rc)
  end)

  it("prints several values tab-separated, top-level strings raw", function()
    local out = repl('1, "two", nil, true\n')
    assert.equal("1\ttwo\tnil\ttrue\n", out)
  end)

  it("continues a multi-line function definition to its end", function()
    local out, err, rc = repl("function twice(x)\n  local y = x * 2\n  return y\nend\ntwice(21)\n")
    assert.equal("42\n", out)
    assert.equal(0, rc, err)
  end)

  it("continues a multi-line table constructor used as an expression", function()
    local out, err, rc = repl("{\n  1,\n  2,\n}\n")
    assert.equal("{ 1, 2 }\n", out)
    assert.equal(0, rc, err)
    out, err, rc = repl("{\n  1,\n")
    assert.equal("", out)
    assert.truthy(err:find("repl:2: unexpected symbol near <eof>", 1, true), err)
    assert.equal(1, rc)
  end)

  it("reports an error with a traceback on stderr, goes on, and exits 1", function()
    local out, err, rc = repl('error("boom")\nprint("after")\n')
    assert.equal("after\n", out)
    assert.truthy(err:find("repl:1: boom", 1, true), err)
    assert.truthy(err:find("stack traceback:", 1, true), err)
    assert.equal(1, rc)
  end)

  it("reports a syntax error and goes on", function()
    local out, err, rc = repl("x = = 1\nprint('ok')\n")
    assert.equal("ok\n", out)
    assert.truthy(err:find("unexpected symbol near '='", 1, true), err)
    assert.equal(1, rc)
  end)

  it("reports a chunk left incomplete at EOF", function()
    local out, err, rc = repl("function f()\n  return 1\n")
    assert.equal("", out)
    assert.truthy(err:find("'end' expected", 1, true), err)
    assert.equal(1, rc)
  end)

  it("has simhost preloaded and as a global", function()
    local out = repl('simhost.version\nrequire("simhost") == simhost\n')
    assert.equal("0.1.0\ntrue\n", out)
  end)

  it("warns in one line when the asset DB cannot be opened, and goes on", function()
    local out, err, rc = repl("print(assets)\n", nil, "SIMHOST_DB=/nonexistent/assets.db")
    assert.equal("nil\n", out)
    assert.truthy(err:match("^simhost repl: warning: [^\n]+\n$"), err)
    assert.equal(0, rc)
  end)

  it("opens the default asset DB as the global assets", function()
    assert.equal("function\n", repl("type(simhost.assets) == 'table' and type(simhost.assets.open)\n"))
    local out, err, rc = repl('assets:find("unit_cube").name\n', nil, "SIMHOST_DB=" .. env.q(env.db))
    assert.equal("unit_cube\n", out)
    assert.equal("", err)
    assert.equal(0, rc)
  end)

  it("pretty-prints nested tables with sorted keys, quoted strings and marked cycles", function()
    local out = repl('t = {10, "two", zeta = 1, alpha = {x = "a\\nb"}, [3.5] = true, ["not id"] = 0}\n'
      .. "t.self = t\nt\n")
    local addr = out:match("<cycle: table: (0x%x+)>")
    assert.truthy(addr, out)
    assert.equal('{\n  10,\n  "two",\n  [3.5] = true,\n  alpha = { x = "a\\nb" },\n  ["not id"] = 0,\n'
      .. "  self = <cycle: table: " .. addr .. ">,\n  zeta = 1\n}\n", out)
    assert.equal("{ 1, { 2 }, k = <cycle: table: " .. addr .. "> }\n",
      (repl("t = {1, {2}}\nt.k = t\nt\n"):gsub("0x%x+", addr)))
  end)

  it("shows a table shared twice (no cycle) at both places", function()
    local out = repl("s = {1}\n{a = s, b = s}\n")
    assert.equal("{ a = { 1 }, b = { 1 } }\n", out)
  end)

  it("bounds depth and breaks wide tables over lines", function()
    local out = repl("t = {}\nc = t\nfor i = 1, 10 do c.next = {} c = c.next end\nt\n")
    assert.truthy(out:find("{...}", 1, true), out)
    out = repl("w = {}\nfor i = 1, 30 do w['key' .. i] = i end\nw\n")
    local lines = {}
    for l in out:gmatch("[^\n]+") do lines[#lines + 1] = l end
    assert.equal(32, #lines, out)
    assert.equal("{", lines[1])
    assert.equal("  key1 = 1,", lines[2])
    assert.equal("}", lines[32])
  end)

  it("bounds the entries shown of a huge table", function()
    local out = repl("t = {}\nfor i = 1, 1000 do t[i] = i end\nt\n")
    assert.truthy(out:find("... (800 more)", 1, true), out)
    -- a shared wide table at three levels: 8 million entries unbounded; the whole rendering is capped
    out = repl("a = {} for i = 1, 200 do a[i] = i end\nb = {} for i = 1, 200 do b[i] = a end\n"
      .. "c = {} for i = 1, 200 do c[i] = b end\nc\n")
    local _, lines = out:gsub("\n", "")
    assert.truthy(lines > 1000 and lines < 2100, "lines: " .. lines)
    assert.equal("  ... (199 more)\n}\n", out:sub(-#"  ... (199 more)\n}\n"))
  end)

  it("uses __tostring and survives one that raises", function()
    local out, err = repl('setmetatable({}, {__tostring = function() return "custom!" end})\n'
      .. 'setmetatable({}, {__tostring = function() error("no tostring") end})\nprint("still here")\n')
    assert.equal("custom!\nstill here\n", out)
    assert.truthy(err:find("no tostring", 1, true), err)
  end)

  it("runs SCRIPT first and evaluates on its globals", function()
    local dir = env.tmpdir()
    spit(dir .. "/setup.lua", 'greeting = "hi from script"\nlocal hidden = 1\nfunction add(a, b) return a + b end\n')
    local out, err, rc = repl("greeting\nadd(2, 3)\nhidden\narg[0]:match('setup.lua$') ~= nil\n", env.q(dir ..
      "/setup.lua"))
    env.rmtree(dir)
    assert.equal("hi from script\n5\nnil\ntrue\n", out)
    assert.equal(0, rc, err)
  end)

  it("reports a SCRIPT that fails, still evaluates input, and exits 1", function()
    local out, err, rc = repl("print('in repl')\n", "/nonexistent/setup.lua")
    assert.equal("in repl\n", out)
    assert.truthy(err:find("cannot open /nonexistent/setup.lua", 1, true), err)
    assert.equal(1, rc)
  end)

  it("rejects bad usage with status 2", function()
    local _, err, rc = repl("", "--frobnicate")
    assert.equal(2, rc)
    assert.truthy(err:find("unknown option '--frobnicate'", 1, true), err)
    _, _, rc = repl("", "a.lua b.lua")
    assert.equal(2, rc)
  end)

  it("discards a NUL byte line with one clear error", function()
    local out, err, rc = repl("print(1)\n\0\nprint(2)\n")
    assert.equal("1\n2\n", out)
    assert.truthy(err:find("NUL byte", 1, true), err)
    assert.equal(1, rc)
  end)
end)

describe("simhost repl at a terminal", function()
  local dir
  before_each(function() dir = env.tmpdir() end)
  after_each(function()
    close_started()
    env.rmtree(dir)
  end)

  local function hist_env()
    return "SIMHOST_HISTORY=" .. env.q(dir .. "/history")
  end

  it("completes globals, table fields and methods with Tab", function()
    local t = pty(bin .. " repl", hist_env())
    local at = t.expect("> ")
    t.send("simhost.ve\t\n")
    at = t.expect("0.1.0", at)
    t.send('string.fo\t("%03d", 7)\n')
    at = t.expect("007", at)
    t.send('s = "abc"\n')
    t.send("s:up\t()\n")
    at = t.expect("ABC", at)
    t.quit()
  end)

  it("shows the >> prompt for an unfinished chunk and evaluates it when complete", function()
    local t = pty(bin .. " repl", hist_env())
    local at = t.expect("> ")
    t.send("function f()\n")
    at = t.expect(">> ", at)
    t.send("return 6 * 7\n")
    at = t.expect(">> ", at)
    t.send("end\nf()\n")
    at = t.expect("42", at)
    t.send("function broken(\n")
    at = t.expect(">> ", at)
    t.send("\3")
    at = t.expect("^C", at)
    t.send("6 * 8\n") -- would be a syntax error if the unfinished chunk were still pending
    t.expect("48", at)
    t.quit()
  end)

  it("survives an error and interrupts a runaway loop on Ctrl-C", function()
    local t = pty(bin .. " repl", hist_env())
    local at = t.expect("> ")
    t.send('error("kaboom")\n')
    at = t.expect("stack traceback:", at)
    -- The chunk says it runs before it spins, so Ctrl-C cannot come before it starts however slow
    -- the machine is.
    t.send("io.write('spin', 'ning\\n') io.flush() while true do end\n")
    at = t.expect("spinning\r\n", at)
    t.send("\3")
    at = t.expect("interrupted!", at)
    t.send("1 + 1\n")
    t.expect("2", at)
    t.quit()
  end)

  it("keeps history in $SIMHOST_HISTORY across runs", function()
    local t = pty(bin .. " repl", hist_env())
    local at = t.expect("> ")
    t.send('"hist" .. "ory-" .. 6 * 7\n')
    t.expect("history-42", at)
    t.quit()
    local saved = slurp(dir .. "/history")
    assert.truthy(saved and saved:find('"hist" .. "ory-" .. 6 * 7', 1, true), saved)

    t = pty(bin .. " repl", hist_env())
    at = t.expect("> ")
    t.send("\16\n") -- Ctrl-P: previous history line, then run it
    local e = t.expect("history-42", at)
    assert.truthy(e > at)
    t.quit()
  end)
end)

describe("simhost attach over the socket REPL", function()
  local dir, path, server
  before_each(function()
    dir = env.tmpdir()
    path = dir .. "/repl.sock"
    server = listen(path)
    assert.equal("listening on " .. path, server.ready)
  end)
  after_each(function()
    close_started()
    env.rmtree(dir)
  end)

  it("creates the socket with mode 0600", function()
    local p = io.popen("stat -c '%F %a' " .. env.q(path))
    local info = p:read("l")
    p:close()
    assert.equal("socket 600", info)
  end)

  it("prints results of piped input and exits 0", function()
    local out, err, rc = attach(path, "print(1+1)\n")
    assert.equal("2\n", out)
    assert.equal("", err)
    assert.equal(0, rc)
    out, _, rc = attach(path, "x = 5\nx * 2\nfor i = 1, 3 do\n  io.write(i, ' ')\nend\nprint()\n")
    assert.equal("10\n1 2 3 \n", out)
    assert.equal(0, rc)
  end)

  it("relays errors to stderr, goes on, and exits 1", function()
    local out, err, rc = attach(path, 'error("remote boom")\nprint("after")\nfunction g(\n')
    assert.equal("after\n", out)
    assert.truthy(err:find("repl:1: remote boom", 1, true), err)
    assert.truthy(err:find("stack traceback:", 1, true), err)
    assert.truthy(err:find("expected near <eof>", 1, true), err)
    assert.equal(1, rc)
  end)

  it("refuses os.exit in an attached state and keeps serving", function()
    local _, err, rc = attach(path, "os.exit(3)\n")
    assert.truthy(err:find("os.exit is disabled", 1, true), err)
    assert.equal(1, rc)
    local out = attach(path, "print('alive')\n")
    assert.equal("alive\n", out)
  end)

  it("serves two clients at once, each with its own state", function()
    assert(os.execute("mkfifo " .. dir .. "/a_in"))
    local a = io.popen(string.format("%s attach %s <%s/a_in >%s/a_out 2>&1; echo $? >%s/a_rc", bin, env.q(path), dir,
      dir, dir), "w")
    local a_in = assert(io.open(dir .. "/a_in", "w"))
    a_in:write("only_a = 'from A'\n")
    a_in:flush()
    -- A is connected and idle; B comes and goes meanwhile, and does not see A's global.
    local out, _, rc = attach(path, "print(only_a)\nonly_b = 1\n")
    assert.equal("nil\n", out)
    assert.equal(0, rc)
    a_in:write("print(only_a, only_b)\n")
    a_in:close()
    a:close()
    assert.equal("from A\tnil\n", slurp(dir .. "/a_out"))
    assert.equal("0\n", slurp(dir .. "/a_rc"))
  end)

  -- CPU ticks (user + system) the server process has used so far.
  local function server_ticks()
    local stat = slurp("/proc/" .. server.pid .. "/stat")
    local after_name = stat:match("%) (.*)$") -- field 3 onwards; the name may hold spaces
    local fields = {}
    for f in after_name:gmatch("%S+") do fields[#fields + 1] = f end
    return tonumber(fields[12]) + tonumber(fields[13]) -- utime, stime: fields 14, 15 of the line
  end

  it("stops the chunk of a client that disconnects, and keeps serving", function()
    assert(os.execute("mkfifo " .. dir .. "/b_in"))
    local p = io.popen(string.format("%s attach %s <%s/b_in >%s/b_out 2>&1 & echo $!", bin, env.q(path), dir, dir))
    local b_in = assert(io.open(dir .. "/b_in", "w"))
    local pid = tonumber(p:read("l"))
    p:close()
    b_in:write("print('running') while true do end\n")
    b_in:flush()
    assert.truthy(wait_for(function() return slurp(dir .. "/b_out") == "running\n" end, 10))
    os.execute("kill " .. pid)
    b_in:close()
    -- The orphaned chunk must stop: the server goes idle (measured 0 ticks; a chunk left spinning
    -- measured 19 on a loaded machine). When it notices depends on the load, so it gets windows of
    -- 0.5 s until one is idle; a chunk left spinning never gives one and fails at the hang guard.
    local used
    assert.truthy(wait_for(function()
      local before = server_ticks()
      socket.sleep(0.5)
      used = server_ticks() - before
      return used < 5
    end, 30), "server used " .. tostring(used) .. " ticks in 0.5 s after its client left")
    local out, _, rc = attach(path, "print('next client')\n")
    assert.equal("next client\n", out)
    assert.equal(0, rc)
  end)

  it("completes, interrupts and drops a chunk over the socket at a terminal", function()
    local t = pty(bin .. " attach " .. env.q(path), "SIMHOST_HISTORY=" .. env.q(dir .. "/history"))
    local at = t.expect("> ")
    t.send("simhost.ve\t\n")
    at = t.expect("0.1.0", at)
    t.send("print('spin' .. 'ning') while true do end\n")
    at = t.expect("spinning\r\n", at) -- printed by the running chunk, not the echo of the line
    t.send("\3")
    at = t.expect("interrupted!", at)
    t.send("function broken(\n")
    at = t.expect(">> ", at)
    t.send("\3")
    at = t.expect("^C", at)
    t.send("6 * 7\n") -- would be a syntax error if the unfinished chunk were still pending
    at = t.expect("42", at)
    t.quit()
  end)

  -- The wire protocol of docs/repl.md, spoken by hand (LuaSocket's Unix-domain client).
  local function raw_client()
    local c = assert(require("socket.unix").stream())
    assert(c:connect(path))
    c:settimeout(10 * slow)
    local function frame()
      local head = assert(c:receive("*l"))
      local tag, len = head:match("^(%a) (%d+)$")
      assert(tag, "bad frame header " .. head)
      local payload = tonumber(len) > 0 and assert(c:receive(tonumber(len))) or ""
      return tag, payload
    end
    return c, frame
  end

  it("speaks the documented frame protocol", function()
    local c, frame = raw_client()
    local tag, payload = frame()
    assert.equal("i", tag)
    assert.truthy(payload:find("attached", 1, true))
    assert.same({ "p", "> " }, { frame() })
    c:send("1 + 1\n")
    assert.same({ "o", "2\n" }, { frame() })
    assert.same({ "p", "> " }, { frame() })
    c:send("\1complete simhost.ve\n")
    assert.same({ "m", "simhost.version\n" }, { frame() })
    c:send("\1complete string.s\n")
    assert.same({ "m", "string.sub\n" }, { frame() })
    c:send("\1bogus\n")
    assert.same({ "e", "repl: unknown request\n" }, { frame() })
    c:send("function f(\n")
    assert.same({ "c", ">> " }, { frame() })
    c:send("\1discard\n")
    assert.same({ "p", "> " }, { frame() })
    c:send("print('a', 1)\nerror('x', 0)\n")
    assert.same({ "o", "a\t1\n" }, { frame() })
    assert.same({ "p", "> " }, { frame() })
    tag, payload = frame()
    assert.equal("e", tag)
    assert.truthy(payload:find("^x\nstack traceback:"), payload)
    assert.same({ "p", "> " }, { frame() })
    c:send("for i = 1, 2 do\n")
    assert.same({ "c", ">> " }, { frame() })
    c:shutdown("send") -- EOF inside a chunk: reported, then the verdict
    tag, payload = frame()
    assert.equal("e", tag)
    assert.truthy(payload:find("'end' expected", 1, true), payload)
    assert.same({ "x", "1" }, { frame() })
    local line, why = c:receive("*l")
    assert.is_nil(line)
    assert.equal("closed", why)
    c:close()
  end)

  it("disconnects a client whose line exceeds 64 KiB, and keeps serving", function()
    local c, frame = raw_client()
    frame()
    frame()
    c:send(string.rep("x", 70000))
    local tag, payload = frame()
    assert.equal("e", tag)
    assert.truthy(payload:find("too long", 1, true), payload)
    assert.same({ "x", "1" }, { frame() })
    c:close()
    local out = attach(path, "print('fine')\n")
    assert.equal("fine\n", out)
  end)

  it("refuses a 17th client at once with one clear line, and serves again when one leaves", function()
    local clients = {}
    for i = 1, 16 do
      local c, frame = raw_client()
      assert.equal("i", (frame()))
      assert.equal("p", (frame()))
      clients[i] = c
    end
    local out, err, rc = attach(path, "print(1)\n")
    assert.equal("", out)
    assert.equal("repl: too many clients attached; try again later\n", err)
    assert.equal(1, rc)
    clients[1]:close()
    local ok = wait_for(function() return (attach(path, "print('in')\n")) == "in\n" end, 5)
    assert.truthy(ok)
    for i = 2, 16 do clients[i]:close() end
  end)

  it("stops on SIGTERM, status 0, interrupting a running chunk, and removes the socket", function()
    assert(os.execute("mkfifo " .. dir .. "/busy_in"))
    local busy = io.popen(string.format("%s attach %s <%s/busy_in >%s/busy_out 2>%s/busy_err; echo $? >%s/busy_rc",
      bin, env.q(path), dir, dir, dir, dir), "w")
    local busy_in = assert(io.open(dir .. "/busy_in", "w"))
    busy_in:write("print('running') while true do end\n")
    busy_in:flush()
    -- output of a running chunk arrives while it runs (within 50 ms of Lua time)
    assert.truthy(wait_for(function() return slurp(dir .. "/busy_out") == "running\n" end, 10))
    local code = server.stop()
    busy_in:close()
    busy:close()
    assert.truthy(slurp(dir .. "/busy_err"):find("interrupted: the REPL server is stopping", 1, true))
    assert.equal("1\n", slurp(dir .. "/busy_rc"))
    assert.equal(0, code, server.err)
    assert.is_nil(io.open(path, "r"))
    local _, err, rc = attach(path, "print(1)\n")
    assert.equal(1, rc)
    assert.truthy(err:find("No such file or directory", 1, true), err)
  end)
end)

describe("simhost repl --listen, the socket file", function()
  local dir
  before_each(function() dir = env.tmpdir() end)
  after_each(function()
    close_started()
    env.rmtree(dir)
  end)

  it("refuses a path that exists and is not a socket, leaving it alone", function()
    spit(dir .. "/file", "precious")
    local _, err, rc = env.run(bin .. " repl --listen " .. env.q(dir .. "/file"))
    assert.equal(1, rc)
    assert.truthy(err:find("exists and is not a socket", 1, true), err)
    assert.equal("precious", slurp(dir .. "/file"))
  end)

  it("refuses a socket another server listens on, and replaces a stale one", function()
    local path = dir .. "/repl.sock"
    local first = listen(path)
    local _, err, rc = env.run(bin .. " repl --listen " .. env.q(path))
    assert.equal(1, rc)
    assert.truthy(err:find("already listening", 1, true), err)
    os.execute("kill -KILL " .. first.pid) -- leaves the socket file behind
    first.stop()
    local st = io.popen("stat -c %F " .. env.q(path))
    assert.equal("socket", st:read("l"))
    st:close()
    local second = listen(path)
    assert.equal("listening on " .. path, second.ready)
    local out = attach(path, "print('fresh')\n")
    assert.equal("fresh\n", out)
    assert.equal(0, second.stop())
  end)

  it("reports a missing socket when attaching", function()
    local _, err, rc = attach(dir .. "/nothing.sock", "print(1)\n")
    assert.equal(1, rc)
    assert.truthy(err:find("nothing.sock", 1, true), err)
  end)
end)
