-- `simhost soak` (a benchmark command): it runs, reports what it claims to, and the host it drives —
-- through slow readers, clients vanishing mid-frame, garbage, reconnects, and SIGKILL + restart while
-- recordings are being written — survives, leaves every recording readable up to its last committed
-- frame, and exits cleanly (under the sanitized build: with no leak). The numbers themselves (RSS, fds,
-- connections) are the benchmark's; the verdict the soak prints applies its bounds.
local env = require "env"

local function count(out, pattern)
  return tonumber(out:match(pattern))
end

describe("simhost soak", function()
  it("answers --help and refuses bad options with status 2", function()
    local out, _, rc = env.run(env.q(env.bin) .. " soak --help")
    assert.equal(0, rc)
    assert.truthy(out:find("usage: simhost soak", 1, true))
    for _, bad in ipairs { "--clients 0", "--clients x", "--seconds -1", "--minutes", "--frobnicate 1",
      "--restarts -1", "--restarts x", "--restarts 1001" } do
      local _, err, rc2 = env.run(env.q(env.bin) .. " soak " .. bad)
      assert.equal(2, rc2, bad)
      assert.truthy(err:find("usage: simhost soak", 1, true), bad)
    end
  end)

  it("kills and restarts its host while recordings are written; every recording reads to its last commit",
    function()
      local out, err, rc = env.run(env.q(env.bin) .. " soak --seconds 24 --clients 8 --restarts 2")
      assert.equal(0, rc, out .. err)
      for _, b in ipairs { "complete", "record", "slow_reader", "vanish_mid_frame", "vanish_mid_stream",
        "garbage_ws", "garbage_tcp", "bad_json", "http" } do
        local n = count(out, " " .. b .. "=(%d+)")
        assert.is_true(n ~= nil and n >= 1, b .. " ran: " .. out)
      end
      assert.equal(0, count(out, "protocol=(%d+)"), "no frame a server never sends")
      -- Both kills happened, each while a 3 s recorded run 40 … 100 frames in was being written (the soak waits
      -- for one before it kills), and the host came back each time.
      assert.truthy(out:find("host restarts (SIGKILL): 2, 2 of them with a 3 s recorded run", 1, true), out)
      local checked = count(out, "recordings checked: (%d+)")
      assert.is_true(checked ~= nil and checked >= 2, out)
      assert.equal(0, count(out, "unreadable (%d+)%)"), "a cut recording lists as incomplete, never unreadable")
      assert.equal(0, count(out, "committed frames lost (%d+)"), out)
      local cut = count(out, "incomplete +(%d+)  the host stopped before the run ended")
      assert.is_true(cut ~= nil and cut >= 2, "the killed runs' recordings are there, incomplete: " .. out)
      assert.truthy(out:find("host RSS kB: start %d+, after warm%-up %d+, end %d+"), out)
      assert.truthy(out:find("sessions open at the end: 0)", 1, true), out)
      assert.truthy(out:find("host: exited cleanly on SIGTERM", 1, true), out)
      assert.truthy(out:find("soak: PASS", 1, true), out)
    end)
end)
