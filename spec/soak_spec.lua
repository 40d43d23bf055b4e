-- `simhost soak` (a benchmark command): it runs, reports what it claims to, and the host it drives —
-- through slow readers, clients vanishing mid-frame, garbage and reconnects — survives and exits cleanly
-- (under the sanitized build: with no leak). The numbers themselves are the benchmark's, not asserted.
local env = require "env"

describe("simhost soak", function()
  it("answers --help and refuses bad options with status 2", function()
    local out, _, rc = env.run(env.q(env.bin) .. " soak --help")
    assert.equal(0, rc)
    assert.truthy(out:find("usage: simhost soak", 1, true))
    for _, bad in ipairs { "--clients 0", "--clients x", "--seconds -1", "--minutes", "--frobnicate 1" } do
      local _, err, rc2 = env.run(env.q(env.bin) .. " soak " .. bad)
      assert.equal(2, rc2, bad)
      assert.truthy(err:find("usage: simhost soak", 1, true), bad)
    end
  end)

  it("drives every behaviour against its own host, which ends with no session open and exits cleanly", function()
    local out, err, rc = env.run(env.q(env.bin) .. " soak --seconds 3 --clients 8")
    assert.equal(0, rc, out .. err)
    for _, b in ipairs { "complete", "slow_reader", "vanish_mid_frame", "vanish_mid_stream", "garbage_ws",
      "garbage_tcp", "bad_json", "http" } do
      local n = tonumber(out:match(" " .. b .. "=(%d+)"))
      assert.is_true(n ~= nil and n >= 1, b .. " ran: " .. out)
    end
    assert.equal("0", out:match("protocol=(%d+)"), "no frame a server never sends")
    assert.truthy(out:find("host RSS kB: start %d+, after warm%-up %d+, end %d+"), out)
    assert.truthy(out:find("sessions open at the end: 0)", 1, true), out)
    assert.truthy(out:find("host: exited cleanly on SIGTERM", 1, true), out)
  end)
end)
