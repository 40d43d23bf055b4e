-- drop: a row of bodies dropped side by side onto the ground, one asset after another.
-- The smallest useful scenario and the one to copy first: it shows every part a scenario can have.
-- Try: simhost run drop --param assets=unit_cube,unit_sphere,pyramid,capsule --param count=4
return {
  description = "Cubes dropped onto the ground",

  -- Every param has a default, a type and a range: the host checks what a client or the command
  -- line sends against them before setup runs, and GET /api/v1/live/scenarios lists them.
  params = {
    count = { default = 3, type = "integer", min = 1, max = 100, doc = "how many bodies" },
    height = { default = 2.0, type = "number", min = 0.5, max = 50,
               doc = "drop height of the lowest point, m" },
    spacing = { default = 2.5, type = "number", min = 0.5, max = 20,
                doc = "distance between neighbours along X, m" },
    -- "assets": asset names, each checked against the asset DB; they repeat in order. The default is
    -- written as on the command line (names separated by commas); setup gets a list, {"unit_cube"}.
    assets = { default = "unit_cube", type = "assets", doc = "asset names, used in turn" },
    restitution = { default = 0.5, type = "number", min = 0, max = 1, doc = "bounciness of each body" },
  },

  duration = 3, -- `simhost run drop` default, s

  -- setup(world, params): build the scene. params are already checked and hold every default.
  setup = function(world, params, ctx)
    local db = ctx.assets -- the asset DB: its bounds tell how far each asset reaches below its origin
    local names = params.assets
    for i = 1, params.count do
      local asset = names[(i - 1) % #names + 1]
      local x = (i - (params.count + 1) / 2) * params.spacing -- centred on the origin
      -- Lift each body by its lowest point, so `height` is the gap under every one of them.
      local lift = 0
      local info = db and db:find(asset)
      if info and info.bounds_min then lift = -info.bounds_min[3] end
      world:spawn { asset = asset, position = { x, 0, params.height + (lift > 0 and lift or 0.5) },
                    orientation = { 0, 0, 0 }, mass = 10, restitution = params.restitution }
    end
  end,

  -- on_message(ctx, msg): message types of this scenario's own. {"type":"drop_more","height":h} adds
  -- one more body above the origin and answers {"type":"dropped","body_id":id}. Return true when the
  -- message was ours; anything else gets the host's "Unknown message type" reply.
  on_message = function(ctx, msg)
    if msg.type ~= "drop_more" then return false end
    local h = tonumber(msg.height) or 3.0
    if h ~= h or h < 0.5 or h > 100 then
      ctx:reply { type = "error", message = "'height' must be a number in 0.5 … 100" }
      return true
    end
    local id = ctx.world:spawn { asset = ctx.params.assets[1], position = { 0, 0, h }, orientation = { 0, 0, 0 }, mass = 10 }
    ctx:reply { type = "dropped", body_id = id }
    return true
  end,

  -- on_complete(world): a summary table (sent in `complete` as `summary`, printed by `simhost run`).
  on_complete = function(world)
    local resting = 0
    for _, id in ipairs(world:bodies()) do
      local b = world:body(id)
      if not b.is_environment then
        local v = b.velocity
        if math.sqrt(v.x * v.x + v.y * v.y + v.z * v.z) < 0.01 then resting = resting + 1 end
      end
    end
    return { bodies_at_rest = resting }
  end,
}
