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

  -- One parser for every command's numbers (core/host/cli_args.c), so one way to say a range: both
  -- ends, `lo … hi`, and the text that was refused.
  local number_rows = {
    { "serve --port 0", "simhost serve: --port must be an integer in 1 … 65535, got '0' (see simhost serve --help)" },
    { "serve --workers 2x", "simhost serve: --workers must be an integer in 1 … 256, got '2x' (see simhost serve --help)" },
    { "serve --max-message-bytes 1e3",
      "simhost serve: --max-message-bytes must be an integer in 64 … 1073741824, got '1e3' (see simhost serve --help)" },
    { "serve --idle-timeout nan",
      "simhost serve: --idle-timeout must be a number in 0 … 10000000, got 'nan' (see simhost serve --help)" },
    { "serve --lua-cpu-ms 99999999999999999999",
      "simhost serve: --lua-cpu-ms must be an integer in 1 … 3600000, got '99999999999999999999' (see simhost serve --help)" },
    { "bench --steps ''", "simhost bench: --steps must be an integer in 1 … 1000000, got ''" },
    { "bench --base 1001", "simhost bench: --base must be an integer in 1 … 1000, got '1001'" },
    { "bench-live --seconds 0",
      "simhost bench-live: --seconds must be a number in 0 … 3600, above 0, got '0' (see simhost bench-live --help)" },
    { "bench-live --bodies -1",
      "simhost bench-live: --bodies must be an integer in 1 … 100000, got '-1' (see simhost bench-live --help)" },
  }
  for _, row in ipairs(number_rows) do
    it("refuses `" .. row[1] .. "` with the range in one notation and exit 2", function()
      local out, err, rc = env.run(env.q(env.bin) .. " " .. row[1])
      assert.equal(2, rc)
      assert.equal("", out)
      assert.equal(row[2] .. "\n", err)
    end)
  end
end)
