-- avalanche: a heap of mixed convex hulls (cubes, spheres, pyramids, cylinders, capsules,
-- tetrahedra) dropped in a loose block onto a slope; they tumble down it and pile up on the ground.
-- A stress scene for contacts between different hull shapes: copy it to try your own imported meshes
-- (`simhost assets import`), by listing them in `assets`.
local ids = {}
local top0

-- A small deterministic generator (a linear congruential one), so every run of the same params
-- builds the same heap: math.random's sequence is not the same across Lua builds.
local function rng(seed)
  local s = seed
  return function()
    s = (s * 1103515245 + 12345) % 2147483648
    return s / 2147483648
  end
end

return {
  description = "A heap of mixed shapes slides down a slope",
  params = {
    count = { default = 40, type = "integer", min = 1, max = 1000, doc = "bodies in the heap" },
    assets = { default = "tiny_cube,small_sphere,pyramid,cylinder,capsule,tetrahedron,unit_cube",
               type = "assets", doc = "asset names, picked at random" },
    slope = { default = 20, type = "number", min = 0, max = 45, doc = "angle of the slope, degrees" },
    seed = { default = 1, type = "integer", min = 0, max = 2147483647, doc = "random layout" },
    restitution = { default = 0.3, type = "number", min = 0, max = 1, doc = "bounciness of every body" },
  },
  duration = 5,

  setup = function(world, params)
    ids = {}
    local names = params.assets -- a list of names, checked against the asset DB
    local rand = rng(params.seed)
    -- The slope: a static slab 16 m long rising towards −X (pitch θ tilts +X down), its low end at x = 0.
    local th = math.rad(params.slope)
    local half_len, half_thick = 8, 0.2
    local cz = half_len * math.sin(th) + half_thick * math.cos(th)
    world:spawn_box { half_extents = { half_len, 5.5, half_thick },
                      position = { -half_len * math.cos(th), 0, cz }, orientation = { th, 0, 0 }, environment = true, friction = 0.4, restitution = 0.2 }
    -- The heap: a loose 4 × 4 block of cells over the upper slope, layer on layer. Cells are 2.3 m
    -- apart, more than the longest hull (the 2 m capsule) in any orientation plus its jitter: bodies
    -- that overlap at the start are pushed apart by the solver, which adds energy no real heap has.
    local pitch = 2.3
    for i = 1, params.count do
      local cell = i - 1
      local gx, gy, layer = cell % 4, (cell // 4) % 4, cell // 16
      local x = -14 + gx * pitch + (rand() - 0.5) * 0.2
      local y = -1.5 * pitch + gy * pitch + (rand() - 0.5) * 0.2
      local ground_z = (-x) * math.tan(th) + 1.6 -- clear of the slope's top face at this x
      local z = ground_z + layer * pitch
      ids[i] = world:spawn { asset = names[1 + math.floor(rand() * #names) % #names], position = { x, y, z },
                             orientation = { rand() * 6.28, rand() * 6.28, rand() * 6.28 },
                             mass = 1 + rand() * 9, friction = 0.5, restitution = params.restitution }
    end
    top0 = 0
    for _, id in ipairs(ids) do top0 = math.max(top0, world:body(id).position.z) end
  end,

  -- How far the heap travelled and spread: the mean X of the bodies, the highest body, and how many
  -- reached the flat ground beyond the slope (x > 0).
  on_complete = function(world)
    local sum_x, top, on_flat = 0, -math.huge, 0
    for _, id in ipairs(ids) do
      local p = world:body(id).position
      sum_x = sum_x + p.x
      top = math.max(top, p.z)
      if p.x > 0 then on_flat = on_flat + 1 end
    end
    return { mean_x_m = sum_x / #ids, highest_z_m = top, start_highest_z_m = top0, on_flat_ground = on_flat }
  end,
}
