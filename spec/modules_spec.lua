-- The module graph (docs/modules.md) read from the #include lines: one direction only, base → hull →
-- assets → physics → bindings → net → host, physics never on the asset DB, and no private header
-- included from another folder. `make module-graph` draws it into docs/module-graph.md.
local env = require "env"
local graph = require "module_graph"

describe("module graph", function()
  it("has no forbidden edge in this tree", function()
    local _, problems = graph.analyse(graph.scan(env.source_dir))
    assert.same({}, problems)
  end)

  it("core/ includes nothing of bindings/ but its public header", function()
    local edges = graph.analyse(graph.scan(env.source_dir))
    for _, from in ipairs { "base", "hull", "assets", "physics" } do
      assert.is_nil(edges[from] and edges[from].bindings, from .. " -> bindings")
    end
    for _, f in ipairs(graph.scan(env.source_dir)) do
      if f.file:match("^core/") then
        for _, inc in ipairs(f.includes) do
          assert.is_nil(inc.target:match("^bindings/"), f.file .. " includes " .. inc.target)
        end
      end
    end
  end)

  it("reports a back edge, physics on the asset DB and a foreign private header", function()
    local dir = env.tmpdir()
    finally(function() env.rmtree(dir) end)
    local function write(path, text)
      os.execute("mkdir -p '" .. dir .. "/" .. path:match("^(.*)/") .. "'")
      local f = assert(io.open(dir .. "/" .. path, "w"))
      f:write(text)
      f:close()
    end
    write("core/include/simhost/base.h", "#pragma once\n")
    write("core/include/simhost/assets.h", '#include "simhost/base.h"\n')
    write("core/include/simhost/lua.h", '#include "simhost/base.h"\n')
    write("core/physics/world.c", '#include "simhost/lua.h"\n#include "simhost/assets.h"\n')
    write("bindings/l_simhost.h", '#include "simhost/lua.h"\n')
    write("core/net/session.c", '#include "l_simhost.h"\n')
    local edges, problems = graph.analyse(graph.scan(dir))
    assert.same({
      "core/net/session.c includes bindings/l_simhost.h: a private header of bindings",
      "core/physics/world.c includes core/include/simhost/lua.h: physics may not use bindings (docs/modules.md)",
      "core/physics/world.c includes core/include/simhost/assets.h: physics may not use assets (docs/modules.md)",
    }, problems)
    assert.same({ "core/physics/world.c" }, edges.physics.bindings)
    local text = graph.render(edges, problems)
    assert.truthy(text:find("  physics -> bindings;", 1, true))
    assert.truthy(text:find("Forbidden edges:", 1, true))
  end)
end)
