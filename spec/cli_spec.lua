local env = require "env"

describe("simhost CLI", function()
  it("prints its version", function()
    local out, _, rc = env.run(env.q(env.bin) .. " --version")
    assert.equal(0, rc)
    assert.equal("simhost 0.1.0\n", out)
  end)

  it("prints help on --help with status 0 and names every command", function()
    local out, _, rc = env.run(env.q(env.bin) .. " --help")
    assert.equal(0, rc)
    for _, cmd in ipairs { "serve", "run", "repl", "attach", "assets", "bench" } do
      assert.truthy(out:find("simhost " .. cmd, 1, true), "help lacks " .. cmd)
    end
  end)

  it("rejects an unknown command with status 2 and one line on stderr", function()
    local out, err, rc = env.run(env.q(env.bin) .. " frobnicate")
    assert.equal(2, rc)
    assert.equal("", out)
    assert.equal("simhost: unknown command 'frobnicate' (see simhost --help)\n", err)
  end)

  it("prints usage and exits 2 with no arguments", function()
    local _, err, rc = env.run(env.q(env.bin))
    assert.equal(2, rc)
    assert.truthy(err:find("usage:", 1, true))
  end)
end)
