-- `simhost run SCENARIO` (core/host/cmd_run.c + scripts/lib/run.lua): the summary, the --out JSON Lines
-- file, errors as one line with exit 2 (usage) or 1 (failure), the progress bar only on a terminal,
-- and Ctrl-C (SIGINT): a partial summary, exit 130, and a file whose every line is a whole frame.
local env = require "env"
local cjson = require "cjson"
local socket = require "socket"
local scripts_dir = require "scripts_dir"

local function simhost(args)
  return env.run(env.q(env.bin) .. " run --assets " .. env.q(env.db) .. " " .. args)
end

-- "key: value" lines of the summary.
local function parse_summary(out)
  local t = {}
  for k, v in out:gmatch("([%w_.]+): ([^\n]*)") do t[k] = v end
  return t
end

local function read_lines(path)
  local lines = {}
  for line in io.lines(path) do lines[#lines + 1] = line end
  return lines
end

local function one_line(s)
  return s:match("^[^\n]+\n$") ~= nil
end

describe("simhost run", function()
  local tmp
  setup(function() tmp = env.tmpdir() end)
  teardown(function() env.rmtree(tmp) end)

  it("prints a summary: frames, simulated and wall time, real-time factor, bodies, contacts, the scenario's own", function()
    local out, err, rc = simhost("drop --duration 2 --timestep-ms 10")
    assert.equal(0, rc, err)
    assert.equal("", err) -- stderr is not a terminal: no progress bar
    local s = parse_summary(out)
    assert.equal("drop", s.scenario)
    assert.equal("201 of 201", s.frames) -- ⌊2000 / 10⌋ + 1
    assert.equal("2.000", s.simulated_s)
    assert.is_number(tonumber(s.wall_s))
    assert(tonumber(s.realtime_factor) > 0, out)
    assert.equal("4", s.bodies) -- ground + 3 cubes
    assert.is_number(tonumber(s.contacts))
    assert.equal("no", s.interrupted)
    assert.equal("3", s["summary.bodies_at_rest"])
    assert.truthy(s.params:find("count=3", 1, true))
  end)

  it("takes --param k=v by the param's type, and a scenario's default duration", function()
    local out, err, rc = simhost("drop --param count=5 --param assets=unit_cube,pyramid --param height=1.5")
    assert.equal(0, rc, err)
    local s = parse_summary(out)
    assert.equal("6", s.bodies)
    assert.equal("188 of 188", s.frames) -- drop.lua's duration = 3: ⌊3000 / 16⌋ + 1
  end)

  it("writes every frame as JSON Lines in the protocol's frame format with --out", function()
    local path = tmp .. "/frames.jsonl"
    local _, err, rc = simhost("cradle --duration 0.5 --timestep-ms 10 --out " .. env.q(path))
    assert.equal(0, rc, err)
    local lines = read_lines(path)
    assert.equal(51, #lines)
    for n, line in ipairs(lines) do
      local m = cjson.decode(line)
      assert.equal("frame", m.type)
      assert.equal(n - 1, m.data.frame_id)
      assert.is_near((n - 1) * 0.01, m.data.simulation_time, 1e-9)
      assert.equal(6, #m.data.states) -- ground + 5 boxes
      assert.is_table(m.data.collisions)
    end
    -- The file's frames are the simulation: the first box moves at 3 m/s in frame 0.
    local f0 = cjson.decode(lines[1]).data
    assert.is_near(3.0, f0.states[2].velocity.x, 1e-6)
  end)

  it("prints --help on stdout, exit 0", function()
    local out, _, rc = env.run(env.q(env.bin) .. " run --help")
    assert.equal(0, rc)
    assert.truthy(out:find("usage: simhost run SCENARIO", 1, true))
    assert.truthy(out:find("--timestep-ms", 1, true))
  end)

  local usage_rows = {
    { "no_such_scenario", "simhost run: unknown scenario 'no_such_scenario' (have: " },
    { "drop --param count=500", "simhost run: param 'count' must be an integer in 1 … 100\n" },
    { "drop --param count=two", "simhost run: param 'count' must be an integer in 1 … 100\n" },
    { "drop --param nope=1", "simhost run: unknown param 'nope'\n" },
    { "drop --param assets=unit_cube,nothing", "simhost run: param 'assets': Asset 'nothing' not found\n" },
    { "drop --param count", "simhost run: --param wants k=v, got 'count'" },
    { "dominoes --param radius=0.5 --param count=100",
      "simhost run: params 'count' × 'spacing' (30.0 m) must fit on 0.9 of the circle of 'radius' (2.8 m)\n" },
    { "drop --duration -1", "simhost run: --duration must be a number in 0 … 86400, got '-1'" },
    { "drop --duration nan", "simhost run: --duration must be a number in 0 … 86400, got 'nan'" },
    { "drop --duration 1e999", "simhost run: --duration must be a number in 0 … 86400, got '1e999'" },
    { "drop --timestep-ms 0", "simhost run: --timestep-ms must be an integer in 1 … 1000, got '0'" },
    { "drop --timestep-ms 1.5", "simhost run: --timestep-ms must be an integer in 1 … 1000, got '1.5'" },
    { "drop --timestep-ms", "simhost run: '--timestep-ms' needs a value" },
    { "drop --frobnicate 1", "simhost run: unknown option '--frobnicate'" },
    { "drop extra", "simhost run: unexpected argument 'extra'" },
    { "", "simhost run: which scenario?" },
    { "../session", "simhost run: unknown scenario '../session'" },
    { "drop --scripts /nonexistent", "simhost run: no scripts directory at '/nonexistent' (it has no lib/run.lua)" },
  }
  for _, row in ipairs(usage_rows) do
    it("refuses `run " .. row[1] .. "` with one line and exit 2", function()
      local out, err, rc = simhost(row[1])
      assert.equal(2, rc, err)
      assert.equal("", out)
      assert.is_true(one_line(err), err)
      assert.equal(row[2], err:sub(1, #row[2]))
    end)
  end

  it("fails with one line and exit 1 on a missing asset DB, an unwritable --out, a script error", function()
    local out, err, rc = env.run(env.q(env.bin) .. " run drop --assets /nonexistent/x.db")
    assert.equal(1, rc)
    assert.equal("", out)
    assert.is_true(one_line(err), err)
    assert.truthy(err:find("/nonexistent/x.db", 1, true), err)

    out, err, rc = simhost("drop --out /nonexistent/dir/f.jsonl")
    assert.equal(1, rc)
    assert.is_true(one_line(err), err)
    assert.truthy(err:find("cannot write /nonexistent/dir/f.jsonl", 1, true), err)

    local dir, scripts = scripts_dir.make {
      ["scenarios/broken.lua"] = 'return { description = "x", params = {}, setup = function() error("no floor today") end }',
      ["scenarios/bad_step.lua"] = [[return { description = "x", params = {},
        setup = function(w) w:spawn { asset = "unit_cube", position = { 0, 0, 2 } } end,
        on_step = function(w, t) if t > 0.1 then error("step went wrong") end end }]],
    }
    finally(function() env.rmtree(dir) end)
    out, err, rc = simhost("broken --scripts " .. env.q(scripts))
    assert.equal(1, rc)
    assert.equal("", out)
    assert.equal("simhost run: no floor today\n", err)
    -- A failure mid-run still prints how far it got.
    out, err, rc = simhost("bad_step --duration 1 --scripts " .. env.q(scripts))
    assert.equal(1, rc)
    assert.equal("simhost run: step went wrong\n", err)
    assert.equal("7 of 63", parse_summary(out).frames) -- frame 7 (t = 0.112 s) was the one that failed
  end)

  it("reads the scenario from --scripts when the run starts (an edit shows in the next run)", function()
    local dir, scripts = scripts_dir.make()
    finally(function() env.rmtree(dir) end)
    local out = simhost("drop --duration 0.1 --scripts " .. env.q(scripts))
    assert.equal("4", parse_summary(out).bodies)
    local path = scripts .. "/scenarios/drop.lua"
    local f = assert(io.open(path, "rb"))
    local src = f:read("a")
    f:close()
    scripts_dir.write(scripts, "scenarios/drop.lua", (src:gsub("count = { default = 3,", "count = { default = 6,", 1)))
    out = simhost("drop --duration 0.1 --scripts " .. env.q(scripts))
    assert.equal("7", parse_summary(out).bodies)
  end)

  it("draws a progress bar on stderr when it is a terminal", function()
    -- A missing script(1) is a failure, not a skip (Debian's bsdutils, always installed).
    assert.is_true(os.execute("command -v script >/dev/null 2>&1"), "util-linux `script` is not installed")
    local path = tmp .. "/tty.txt"
    -- script(1) gives the run a pseudo-terminal; its stdout and stderr both land in the transcript.
    os.execute("script -qec " .. env.q(env.q(env.bin) .. " run drop --duration 1 --assets " .. env.q(env.db))
      .. " /dev/null >" .. env.q(path) .. " 2>&1 </dev/null")
    local f = assert(io.open(path, "rb"))
    local s = f:read("a")
    f:close()
    assert.truthy(s:find("[", 1, true) and s:find("%] +%d+%%"), s)
    assert.truthy(s:find("100%", 1, true), s)
    assert.truthy(s:find("frames: 63 of 63", 1, true), s)
  end)

  it("stops cleanly on SIGINT: partial summary, exit 130, every line of --out a whole frame", function()
    local path = tmp .. "/long.jsonl"
    local out_path = tmp .. "/long.out"
    local cmd = env.q(env.bin) .. " run pyramid --param base=20 --duration 3600 --timestep-ms 10 --assets "
      .. env.q(env.db) .. " --out " .. env.q(path) .. " >" .. env.q(out_path) .. " 2>&1"
    local proc = io.popen("sh -c " .. env.q("echo $$; exec " .. cmd) .. " </dev/null")
    local pid = tonumber(proc:read("*l"))
    assert(pid, "no pid")
    local reaped = false
    finally(function() -- a failed assertion must not leave an hour-long run behind
      if not reaped then
        os.execute("kill -9 " .. pid .. " 2>/dev/null")
        proc:close()
      end
    end)
    -- Wait until it has written frames (a few seconds at most, longer under the sanitizers).
    local deadline = socket.gettime() + 120 -- a hang guard, not a timing bound
    local size = 0
    repeat
      socket.sleep(0.1)
      local f = io.open(path, "rb")
      if f then
        size = f:seek("end")
        f:close()
      end
    until size > 200000 or socket.gettime() > deadline
    assert(size > 200000, "the run wrote frames")
    os.execute("kill -INT " .. pid)
    local _, how, code = proc:close()
    reaped = true
    assert.equal("exit", how)
    assert.equal(130, code)
    local f = assert(io.open(out_path, "rb"))
    local s = parse_summary(f:read("a"))
    f:close()
    assert.equal("yes", s.interrupted)
    local done, total = s.frames:match("^(%d+) of (%d+)$")
    assert.equal("360001", total)
    assert(tonumber(done) > 1 and tonumber(done) < 360001, s.frames)
    local lines = read_lines(path)
    assert.equal(tonumber(done), #lines)
    for n, line in ipairs(lines) do
      local ok, m = pcall(cjson.decode, line)
      assert(ok, "line " .. n .. " is whole JSON")
      assert.equal(n - 1, m.data.frame_id)
    end
    -- The last byte is the last line's newline: nothing half-written after it.
    local fh = assert(io.open(path, "rb"))
    fh:seek("end", -1)
    assert.equal("\n", fh:read(1))
    fh:close()
  end)

  it("Ctrl-C also stops a scenario stuck in its setup: one line, exit 130", function()
    local mark = tmp .. "/spinning"
    os.remove(mark)
    -- setup says it has started (the SIGINT handler is installed before it runs), then spins: Ctrl-C
    -- cannot come before the program is ready, however slowly a loaded machine starts it.
    local dir, scripts = scripts_dir.make {
      ["scenarios/spin.lua"] = ('return { description = "x", params = {}, setup = function() '
        .. 'local f = io.open(%q, "w") f:write("x") f:close() while true do end end }'):format(mark),
    }
    local err_path = tmp .. "/spin.err"
    local cmd = env.q(env.bin) .. " run spin --scripts " .. env.q(scripts) .. " --assets " .. env.q(env.db)
      .. " >/dev/null 2>" .. env.q(err_path)
    local proc = io.popen("sh -c " .. env.q("echo $$; exec " .. cmd) .. " </dev/null")
    local pid = tonumber(proc:read("*l"))
    local reaped = false
    finally(function() -- (busted keeps one finally per test: both clean-ups here)
      if not reaped then
        os.execute("kill -9 " .. pid .. " 2>/dev/null")
        proc:close()
      end
      env.rmtree(dir)
    end)
    local deadline = socket.gettime() + 120 -- a hang guard, not a timing bound
    while not io.open(mark, "rb") and socket.gettime() < deadline do socket.sleep(0.02) end
    assert.truthy(io.open(mark, "rb"), "the scenario's setup started")
    os.execute("kill -INT " .. pid)
    local _, how, code = proc:close()
    reaped = true
    assert.equal("exit", how)
    assert.equal(130, code)
    local f = assert(io.open(err_path, "rb"))
    assert.equal("simhost run: interrupted\n", f:read("a"))
    f:close()
  end)
end)
