// The page's SHF1 reader (web/frames.js packBinary, docs/frames.md) on the host's own bytes: a world
// built through the simhost Lua module writes the same state as w:frame_json and w:frame_bin, and the
// page's two decoders must give the same packed frame, float for float (a JSON number rounded to float32
// against the binary float). Truncated and lying frames come back as one error line.
// Run: node --test spec/e2e/binary_frames.test.mjs   (ctest: e2e.binary_frames)

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUILD, DB } from "./harness.mjs";
import { BodyTable, decode, Frame, FrameOutbox, packBinary } from "../../web/frames.js";

// Steps a pile of cubes with the real module and writes metadata, then each of `frames` frames as JSON
// text and as SHF1 bytes.
function hostFrames(steps) {
  const dir = mkdtempSync(join(tmpdir(), "simhost-shf1-"));
  const lua = `
    local simhost = require "simhost"
    local dir, steps = ...
    local w = simhost.world { assets = simhost.assets.open(${JSON.stringify(DB)}) }
    w:spawn { asset = "ground", position = { 0, 0, -0.5 }, orientation = { 0, 0, 0 }, environment = true }
    for i = 0, 11 do
      w:spawn { asset = "unit_cube", position = { (i % 4) * 0.7, (i // 4) * 0.3, 0.6 + 1.05 * (i % 3) },
                orientation = { 0.1 * i, 0.05, 0 }, mass = 1 + i, restitution = 0.2 }
    end
    local function put(name, s) local f = assert(io.open(dir .. "/" .. name, "wb")); f:write(s); f:close() end
    put("meta.json", w:metadata_json())
    for n = 0, tonumber(steps) - 1 do
      if n > 0 then w:step(1 / 60) end
      put(n .. ".json", w:frame_json(n, { simulation_time = n / 60 }))
      put(n .. ".bin", w:frame_bin(n, { simulation_time = n / 60 }))
    end`;
  const r = spawnSync("lua5.4", ["-", dir, String(steps)], {
    input: lua, encoding: "utf8", env: { ...process.env, LUA_CPATH: `${join(BUILD, "lua")}/?.so;;` },
  });
  assert.equal(r.status, 0, `lua5.4 failed: ${r.stderr}`);
  const read = (name) => readFileSync(join(dir, name));
  const meta = JSON.parse(read("meta.json"));
  const frames = [];
  for (let n = 0; n < steps; n++) {
    const b = read(`${n}.bin`);
    frames.push({ json: read(`${n}.json`).toString(), bin: b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) });
  }
  rmSync(dir, { recursive: true, force: true });
  return { meta, frames };
}

const f32 = Math.fround;

function sameArray(json, bin, what, round = f32) {
  assert.equal(json.length, bin.length, `${what}: length`);
  for (let i = 0; i < json.length; i++) {
    if (!Object.is(round(json[i]), bin[i])) assert.fail(`${what}[${i}]: JSON ${json[i]} is float ${round(json[i])}, binary ${bin[i]}`);
  }
}

describe("binary frames in the page", () => {
  const { meta, frames } = hostFrames(150);

  it("reads the host's SHF1 frames into the same packed frame as its JSON frames", () => {
    const bodies = new BodyTable();
    bodies.setMetadata(meta);
    let contacts = 0, solvers = 0, sleeping = 0, sliding = 0;
    for (const { json, bin } of frames) {
      // The wire's text as the host writes it (JSON.stringify of a parsed frame would turn a -0 into 0).
      const j = decode(`{"type":"frame","data":${json}}`).packed;
      const r = decode(bin, bodies);
      assert.ok(r.packed, r.error);
      const b = r.packed;
      assert.equal(b.frame_id, j.frame_id);
      assert.equal(b.simulation_time, j.simulation_time);
      assert.equal(b.n, j.n);
      sameArray(j.ids, b.ids, "ids", (x) => x);
      sameArray(j.assets, b.assets, "assets", (x) => x);
      sameArray(j.flags, b.flags, "flags", (x) => x);
      for (const k of ["pos", "quat", "vel", "angvel", "colNormal", "depth", "normalImpulse", "frictionImpulse", "frictionVector"]) sameArray(j[k], b[k], k);
      for (let k = 0; k < b.frictionVector.length; k++) sliding += b.frictionVector[k] !== 0 ? 1 : 0;
      sameArray(j.colBodies, b.colBodies, "colBodies", (x) => x);
      sameArray(j.colStart, b.colStart, "colStart", (x) => x);
      sameArray(j.colDepth, b.colDepth, "colDepth");
      // Binary contact points are the midpoints of the JSON's point_a and point_b, in float32.
      const mid = j.points.map((_, i) => f32(f32(f32(j.points[i - (i % 6) + (i % 3)]) + f32(j.points[i - (i % 6) + (i % 3) + 3])) * 0.5));
      sameArray(mid, b.points, "points", (x) => x);
      if (j.solver === null) assert.equal(b.solver, null);
      else {
        assert.deepEqual(Object.keys(b.solver).sort(), Object.keys(j.solver).sort());
        for (const k of Object.keys(j.solver)) assert.ok(Object.is(typeof j.solver[k] === "number" ? f32(j.solver[k]) : j.solver[k], b.solver[k]), k);
        solvers++;
      }
      contacts += b.ncol;
      for (let i = 0; i < b.n; i++) sleeping += b.flags[i] & 2 ? 1 : 0;
      // The page's object form of a binary frame is the JSON frame's (stateOf reads the inspector's body).
      assert.deepEqual(new Frame(b).stateOf(3).asset_id, meta.bodies[3].asset_id);
    }
    assert.ok(contacts > 0 && solvers > 0 && sleeping > 0 && sliding > 0,
      `the run covers contacts (${contacts}), solver (${solvers}), sleep (${sleeping}), friction vectors (${sliding})`);
  });

  it("rejects every truncation and lying offsets or counts with one line", () => {
    const bin = frames.at(-1).bin;
    assert.ok(packBinary(bin).packed);
    for (let n = 0; n < bin.byteLength; n++) {
      const r = packBinary(bin.slice(0, n));
      assert.ok(r.error?.startsWith("the server sent a binary frame the page cannot read"), `${n} bytes: ${JSON.stringify(r.error)}`);
    }
    const lie = (at, v) => {
      const b = bin.slice(0);
      new DataView(b).setUint32(at, v, true);
      return packBinary(b).error;
    };
    const hv = new DataView(bin);
    const flags = hv.getUint32(28, true), contactsAt = hv.getUint32(48, true), frictionAt = hv.getUint32(60, true);
    assert.equal(flags & 10, 10, "the frame carries contacts and friction");
    for (const [at, v] of [[0, 0x32464853], [4, 2 | (64 << 16)], [12, 100000], [12, 0xffffffff], [24, 1e6], [28, 31], [36, 68], [36, 64], [40, 0], [56, bin.byteLength - 8],
      [28, flags & ~8], [28, flags & ~2], [60, 0], [60, frictionAt + 4], [60, contactsAt], [60, bin.byteLength]]) {
      assert.ok(lie(at, v), `u32 at ${at} = ${v} accepted`);
    }
    // A frame without the friction block (bit 3 clear, word 60 zero) reads NaN friction vectors.
    const old = bin.slice(0);
    new DataView(old).setUint32(28, flags & ~8, true);
    new DataView(old).setUint32(60, 0, true);
    const r = packBinary(old);
    assert.ok(r.packed, r.error);
    assert.ok(r.packed.frictionVector.length > 0 && r.packed.frictionVector.every(Number.isNaN));
  });

  it("coalesces binary frames like text ones and times their decoding", () => {
    const got = [];
    const box = new FrameOutbox((m) => got.push(m.packed ? m.packed : m.msg?.type ?? m.error));
    box.push(JSON.stringify({ type: "metadata", ...meta }));
    for (const { bin } of frames.slice(0, 4)) box.push(bin.slice(0));
    assert.equal(got[0], "metadata");
    assert.deepEqual(got.slice(1).map((p) => p.frame_id), [0, 1], "two unacknowledged, the rest waits");
    assert.equal(box.coalesced, 1);
    box.ack();
    assert.deepEqual(got.slice(1).map((p) => p.frame_id), [0, 1, 3], "the newest waiting frame goes");
    assert.ok(got.slice(1).every((p) => p.decodeMs >= 0 && p.assets[1] === meta.bodies[1].asset_id));
  });
});
