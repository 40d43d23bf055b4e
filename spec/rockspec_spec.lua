-- simhost-scm-1.rockspec: `luarocks make` into a fresh tree, then `require "simhost"` from that tree with
-- a plain lua5.4 (no LUA_CPATH pointing at build/). The rock builds a normal module in build-rock/, also
-- under the ASan spec run, so the sanitizer variables are removed from its environment.
local env = require "env"

local function have(cmd)
  local _, _, rc = env.run("command -v " .. cmd)
  return rc == 0
end

describe("simhost-scm-1.rockspec", function()
  it("installs with luarocks make and loads from the tree", function()
    -- A missing luarocks is a failure, not a skip (`make deps` installs it).
    assert.is_true(have("luarocks"), "luarocks is not installed")
    local tree = env.tmpdir()
    local clean = "env -u LD_PRELOAD -u ASAN_OPTIONS -u LSAN_OPTIONS -u UBSAN_OPTIONS -u LUA_PATH -u LUA_CPATH "
    local out, err, rc = env.run("cd " .. env.q(env.source_dir) .. " && " .. clean ..
      "luarocks --lua-version=5.4 make --tree " .. env.q(tree) .. " simhost-scm-1.rockspec")
    assert.equal(0, rc, out .. err)
    local so = tree .. "/lib/lua/5.4/simhost.so"
    assert.is_truthy(io.open(so, "rb"), "no " .. so)
    local script = [[local s = require "simhost"; ]] ..
      [[assert(package.searchpath("simhost", package.cpath):find(os.getenv("TREE"), 1, true)); ]] ..
      [[local db = s.assets.open(os.getenv("DB")); io.write(s.version, " ", #db:list())]]
    out, err, rc = env.run(clean .. "TREE=" .. env.q(tree) .. " DB=" .. env.q(env.db) ..
      " LUA_CPATH=" .. env.q(tree .. "/lib/lua/5.4/?.so") .. " lua5.4 -e " .. env.q(script))
    env.rmtree(tree)
    assert.equal(0, rc, err)
    assert.equal("0.1.0 18", out)
  end)
end)
