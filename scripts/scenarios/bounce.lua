-- bounce: a row of balls dropped together, restitution rising evenly from `min_restitution` on the
-- left to `max_restitution` on the right, so the apexes after the first bounce climb along the row
-- (ideally e²·height each).
-- Contacts combine restitution by the larger of the two (core/physics/contact.c: "restitution max"),
-- so a ball on the default ground (e = 0.5) could never bounce less than 0.5. Each ball therefore lands on its own
-- dead pad (e = 0): then the ball's own restitution is the one that counts.
local PAD_HALF = { 0.6, 0.6, 0.05 } -- m; top face at z = 0.1
local PAD_TOP = 2 * PAD_HALF[3]

-- Per-run state. The file is loaded afresh for every session and run, so module locals belong to
-- this one run: no other session sees them.
local balls, height = {}, 0

return {
  description = "Balls of rising restitution bounce side by side",
  params = {
    count = { default = 5, type = "integer", min = 2, max = 50, doc = "how many balls" },
    min_restitution = { default = 0.2, type = "number", min = 0, max = 1,
                        doc = "restitution of the first ball" },
    max_restitution = { default = 1.0, type = "number", min = 0, max = 1,
                        doc = "restitution of the last ball" },
    height = { default = 2.0, type = "number", min = 0.2, max = 20,
               doc = "drop height of each ball's bottom above its pad, m" },
    spacing = { default = 1.5, type = "number", min = 1.2, max = 10,
                doc = "distance between balls along X, m" },
  },
  duration = 4,

  setup = function(world, params)
    local n = params.count
    balls, height = {}, params.height
    for i = 1, n do
      local e = params.min_restitution + (params.max_restitution - params.min_restitution) * (i - 1) / (n - 1)
      local x = (i - (n + 1) / 2) * params.spacing
      -- spawn_box makes a box hull of any size on the fly (no asset needed); environment = static.
      world:spawn_box { half_extents = PAD_HALF, position = { x, 0, PAD_HALF[3] }, environment = true,
                        restitution = 0, friction = 0.5 }
      -- small_sphere: radius 0.5 m, so its centre starts at pad top + height + 0.5.
      local id = world:spawn { asset = "small_sphere", position = { x, 0, PAD_TOP + params.height + 0.5 },
                               orientation = { 0, 0, 0 }, mass = 1, restitution = e, friction = 0.5 }
      balls[i] = { id = id, e = e }
    end
  end,

  -- on_step runs after every step (t: simulated time after it, dt: the step). Here it watches each
  -- ball for its first apex: the top of the flight after the first bounce.
  on_step = function(world)
    for _, b in ipairs(balls) do
      local body = world:body(b.id)
      local vz = body.velocity.z
      if not b.bounced then
        b.bounced = b.falling and vz > 0 -- moving up again after falling: it bounced
        b.falling = b.falling or vz < -0.5
      elseif not b.apex then
        if vz <= 0 then b.apex = b.peak end
        b.peak = math.max(b.peak or -math.huge, body.position.z - 0.5 - PAD_TOP)
      end
    end
  end,

  -- on_complete: the first apex of each ball, and its ideal e²·height.
  on_complete = function()
    local apex, ideal = {}, {}
    for i, b in ipairs(balls) do
      apex[i] = b.apex or b.peak or 0
      ideal[i] = b.e * b.e * height
    end
    local e = {}
    for i, b in ipairs(balls) do e[i] = b.e end
    return { restitution = e, first_apex_m = apex, ideal_apex_m = ideal }
  end,
}
