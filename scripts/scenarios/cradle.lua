-- cradle: a Newton's cradle of boxes. A row of equal unit cubes on frictionless ground, a small gap
-- between neighbours, all elastic (e = 1); the first is sent into the row at `speed`. Each collision
-- of equal masses swaps velocities, so the momentum runs down the row and the last box leaves with it
-- while the others stop.
-- The gaps matter: boxes already touching would be one simultaneous multi-contact problem, which an
-- iterative contact solver shares out among the row instead of passing it along.
-- Friction is the geometric mean of the pair (core/physics/contact.c), so friction 0 on the boxes makes the
-- ground frictionless for them too.
local ids = {}
local speed0

return {
  description = "Elastic boxes in a row pass the first one's momentum to the last",
  params = {
    count = { default = 5, type = "integer", min = 2, max = 50, doc = "boxes in the row" },
    speed = { default = 3.0, type = "number", min = 0.1, max = 50, doc = "speed of the first box, m/s" },
    gap = { default = 0.05, type = "number", min = 0.005, max = 2, doc = "gap between neighbours, m" },
  },
  duration = 3,

  setup = function(world, params)
    ids, speed0 = {}, params.speed
    for i = 1, params.count do
      -- The first box starts one metre further back, so it arrives moving freely.
      local x = (i - 1) * (1 + params.gap) - (i == 1 and 1 or 0)
      ids[i] = world:spawn { asset = "unit_cube", position = { x, 0, 0.5 }, orientation = { 0, 0, 0 },
                             mass = 10, restitution = 1, friction = 0 }
    end
    -- Energy injected here, at setup (audits measure from after it).
    world:set_velocity(ids[1], { params.speed, 0, 0 }, { 0, 0, 0 })
  end,

  on_complete = function(world)
    local v = {}
    for i, id in ipairs(ids) do v[i] = world:body(id).velocity.x end
    return { initial_speed = speed0, velocity_x = v, last_fraction = v[#v] / speed0 }
  end,
}
