-- The live host's HTTP side and process behaviour: a real `simhost serve` on a free loopback port.
local env = require "env"
local server = require "server"
local cjson = require "cjson"

-- A web root of our own (with a symlink pointing out of it) so the traversal checks have
-- something to guard, independent of what web/ holds.
local function make_web()
  local dir = env.tmpdir()
  os.execute("mkdir -p " .. dir .. "/web/js " .. dir .. "/web/css")
  local function write(path, s)
    local f = assert(io.open(dir .. "/" .. path, "wb"))
    f:write(s)
    f:close()
  end
  write("web/index.html", "<!doctype html><title>live</title>")
  write("web/js/app.js", "export const a = 1;\n")
  write("web/js/mod.mjs", "export const b = 2;\n")
  write("web/css/site.css", "body{}\n")
  write("web/data.json", "{}")
  write("web/img.png", "\137PNG\r\n\26\n")
  write("web/icon.svg", "<svg/>")
  write("web/m.wasm", "\0asm")
  write("secret.txt", "top secret")
  os.execute("ln -s " .. dir .. "/secret.txt " .. dir .. "/web/escape.txt")
  os.execute("ln -s " .. dir .. " " .. dir .. "/web/up")
  return dir
end

describe("simhost serve (HTTP)", function()
  local srv, webdir

  setup(function()
    webdir = make_web()
    srv = server.start { web = webdir .. "/web" }
  end)

  teardown(function()
    if srv then
      local code = srv:stop()
      assert.equal(0, code, "exit status after SIGTERM (ASan leak report?)\n" .. (srv.final_log or ""))
    end
    if webdir then env.rmtree(webdir) end
  end)

  it("answers GET /api/v1/health with status, sessions and uptime", function()
    local status, headers, body = server.get(srv.port, "/api/v1/health")
    assert.equal(200, status)
    assert.truthy(headers["content-type"]:find("application/json", 1, true))
    local h = cjson.decode(body)
    assert.equal("ok", h.status)
    assert.equal(0, h.sessions)
    assert.is_number(h.uptime_s)
    assert.is_true(h.uptime_s >= 0)
  end)

  it("lists every asset in id order with name, category, vertex_count and bounds", function()
    local status, _, body = server.get(srv.port, "/api/v1/live/assets")
    assert.equal(200, status)
    local list = cjson.decode(body)
    assert.is_true(#list >= 1)
    local names = {}
    for i, a in ipairs(list) do
      assert.is_number(a.asset_id)
      if i > 1 then assert.is_true(a.asset_id > list[i - 1].asset_id, "ids in order") end
      assert.is_string(a.name)
      assert.is_string(a.category)
      assert.is_true(a.vertex_count >= 3 and a.vertex_count % 3 == 0, a.name .. " vertex_count")
      for _, k in ipairs { "x", "y", "z" } do
        assert.is_true(a.bounds.min[k] <= a.bounds.max[k], a.name .. " bounds")
      end
      names[a.name] = true
    end
    assert.is_true(names.unit_cube, "unit_cube listed")
    assert.is_true(names.ground, "ground listed")
  end)

  it("redirects / to /live", function()
    local status, headers = server.get(srv.port, "/")
    assert.equal(302, status)
    assert.equal("/live", headers.location:match("/live$"))
  end)

  it("serves web/index.html at /live", function()
    local status, headers, body = server.get(srv.port, "/live")
    assert.equal(200, status)
    assert.equal("text/html; charset=utf-8", headers["content-type"])
    assert.equal("<!doctype html><title>live</title>", body)
  end)

  it("serves static files with their MIME types", function()
    local want = {
      ["/index.html"] = "text/html",
      ["/js/app.js"] = "text/javascript",
      ["/js/mod.mjs"] = "text/javascript",
      ["/css/site.css"] = "text/css",
      ["/data.json"] = "application/json",
      ["/img.png"] = "image/png",
      ["/icon.svg"] = "image/svg+xml",
      ["/m.wasm"] = "application/wasm",
    }
    for path, mime in pairs(want) do
      local status, headers = server.get(srv.port, path)
      assert.equal(200, status, path)
      assert.equal(mime, headers["content-type"]:match("^[^;]+"), path)
    end
  end)

  it("serves nothing outside web/", function()
    for _, path in ipairs {
      "/../secret.txt", "/js/../../secret.txt", "/%2e%2e/secret.txt", "/%2E%2E/secret.txt",
      "/js%2f..%2f..%2fsecret.txt", "/js/%2e%2e/%2e%2e/secret.txt", "//etc/passwd", "/escape.txt",
      "/up/secret.txt", "/index.html%00.png", "/..%5csecret.txt", "/nonexistent.js", "/js",
    } do
      local status, _, body = server.get(srv.port, path)
      -- Refused with an error status, or (a NUL in the path) the connection is dropped.
      assert.is_true(status == nil or status >= 400, path .. " gave " .. tostring(status))
      assert.falsy(body and body:find("top secret", 1, true), path .. " leaked the file")
    end
  end)

  it("answers unknown API paths with a 404 JSON error", function()
    local status, headers, body = server.get(srv.port, "/api/v1/nothing")
    assert.equal(404, status)
    assert.truthy(headers["content-type"]:find("application/json", 1, true))
    assert.equal("not found", cjson.decode(body).error)
  end)

  it("logs one line per request to stderr", function()
    server.get(srv.port, "/api/v1/health?probe=1")
    local log = srv:read_log()
    assert.truthy(log:find("GET /api/v1/health", 1, true))
  end)
end)

describe("simhost serve (command line)", function()
  it("prints help with status 0", function()
    local out, _, rc = env.run(env.q(env.bin) .. " serve --help")
    assert.equal(0, rc)
    for _, flag in ipairs { "--host", "--port", "--assets", "--scripts", "--web", "--max-sessions", "--workers",
      "--max-message-bytes", "--max-objects", "--max-duration", "--lua-memory-mb", "--lua-cpu-ms" } do
      assert.truthy(out:find(flag, 1, true), "help lacks " .. flag)
    end
  end)

  it("rejects bad flags with one line and status 2", function()
    for _, args in ipairs { "--bogus 1", "--port abc", "--port 70000", "--workers 0", "--max-duration -1", "--port" } do
      local out, err, rc = env.run(env.q(env.bin) .. " serve " .. args)
      assert.equal(2, rc, args)
      assert.equal("", out, args)
      local _, lines = err:gsub("\n", "")
      assert.equal(1, lines, args .. ": " .. err)
    end
  end)

  it("reports a port in use with one clear line and status 1", function()
    local socket = require "socket"
    local holder = assert(socket.bind("127.0.0.1", 0))
    local _, port = holder:getsockname()
    local _, err, rc = env.run(env.q(env.bin) .. " serve --port " .. port .. " --assets " .. env.q(env.db))
    holder:close()
    assert.equal(1, rc)
    assert.equal("simhost serve: cannot listen on 127.0.0.1:" .. port .. ": Address already in use\n", err)
  end)

  it("reports a missing asset DB with one line and status 1", function()
    local _, err, rc = env.run(env.q(env.bin) .. " serve --port " .. server.free_port() .. " --assets /nonexistent/x.db")
    assert.equal(1, rc)
    local _, lines = err:gsub("\n", "")
    assert.equal(1, lines, err)
  end)

  it("shuts down cleanly on SIGINT", function()
    local srv = server.start()
    assert.equal(0, srv:stop("INT"))
  end)
end)
