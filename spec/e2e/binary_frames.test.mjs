// The page's SHF1 reader (web/frames.js packBinary, docs/frames.md) on the host's own bytes: a world
// built through the simhost Lua module writes the same state as w:frame_json and w:frame_bin, and the
// page's two decoders must give the same packed frame, float for float (a JSON number rounded to float32
// against the binary float). Truncated and lying frames come back as one error line. Then the same
// reader on the ranges a real host serves from a real recording (frames.bin, web/frame-range.js),
// against the host's JSON range of the same frames.
// Run: node --test spec/e2e/binary_frames.test.mjs   (ctest: e2e.binary_frames)

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BIN, BUILD, DB, Host } from "./harness.mjs";
import { BodyTable, decode, Frame, FrameOutbox, packBinary, packFrame } from "../../web/frames.js";
import { decodeRange, RangeReader, splitRange } from "../../web/frame-range.js";

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

// Each contact point's record fields (frames.js `rec`) of a JSON-packed frame against a binary one:
// normal, depth and impulses rounded to float32; the point is the midpoint of the JSON's point_a and
// point_b, computed in float32 as the host writes it.
function sameContacts(j, b, what) {
  sameArray(j.colBodies, b.colBodies, `colBodies${what}`, (x) => x);
  sameArray(j.colStart, b.colStart, `colStart${what}`, (x) => x);
  const c = b.colStart[b.ncol];
  for (let e = 5; e <= 10; e++) {
    sameArray(Array.from({ length: c }, (_, k) => j.rec[12 * k + e]), Array.from({ length: c }, (_, k) => b.rec[12 * k + e]), `rec word ${e}${what}`);
  }
  if (!j.pointsAB) return;
  for (let k = 0; k < c; k++) {
    for (let a = 0; a < 3; a++) {
      const mid = f32(f32(f32(j.pointsAB[6 * k + a]) + f32(j.pointsAB[6 * k + 3 + a])) * 0.5);
      if (!Object.is(mid, b.rec[12 * k + 2 + a])) assert.fail(`point ${k}${what}: JSON midpoint ${mid}, binary ${b.rec[12 * k + 2 + a]}`);
    }
  }
}

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
      // The host's JSON names every body's sleeping (SLEEP_KNOWN, bit 2); SHF1 always carries it.
      sameArray(j.flags.map((f) => f & 3), b.flags, "flags", (x) => x);
      assert.ok(j.flags.every((f) => f & 4) && b.sleepKnown);
      for (const k of ["pose", "velocity", "friction"]) sameArray(j[k], b[k], k);
      sameContacts(j, b, "");
      for (let k = 0; k < b.friction.length; k++) sliding += b.friction[k] !== 0 ? 1 : 0;
      // SHF1 carries no collision depth: the object form gives the deepest point's, as the host's JSON.
      const jf = new Frame(j), bf = new Frame(b);
      for (let c = 0; c < b.ncol; c++) assert.ok(Object.is(f32(jf.depthOf(c)), bf.depthOf(c)), `collision ${c}: depth ${jf.depthOf(c)} / ${bf.depthOf(c)}`);
      assert.deepEqual(bf.collisions.map((c) => c.normal), jf.collisions.map((c) => ({ x: f32(c.normal.x), y: f32(c.normal.y), z: f32(c.normal.z) })));
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
    // A frame without the friction block (bit 3 clear, word 60 zero) has no friction vectors.
    const old = bin.slice(0);
    new DataView(old).setUint32(28, flags & ~8, true);
    new DataView(old).setUint32(60, 0, true);
    const r = packBinary(old);
    assert.ok(r.packed, r.error);
    assert.equal(r.packed.friction, null);
    const cols = new Frame(r.packed).collisions;
    assert.ok(cols.length > 0 && cols.every((c) => c.contacts.every((p) => !("friction_impulse_vector" in p) && "friction_impulse" in p)));
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

describe("frames.bin ranges in the page", () => {
  let host, dir, id, meta;
  const api = async (path, binary = false) => {
    const res = await fetch(`${host.url}/api/v1/simulations${path}`);
    assert.equal(res.status, 200, `GET ${path}`);
    return binary ? res.arrayBuffer() : res.json();
  };

  it("reads the ranges a host serves from a recording as its JSON frames of the same ids", async () => {
    dir = mkdtempSync(join(tmpdir(), "simhost-range-"));
    const made = spawnSync(BIN, ["run", "ramp", "--duration", "1", "--record", "--recordings", dir, "--assets", DB], { encoding: "utf8", timeout: 120000 });
    assert.equal(made.status, 0, `simhost run --record: ${made.stderr}`);
    host = await Host.start(["--recordings", dir]);
    id = (await api(""))[0].id;
    meta = await api(`/${id}/metadata`);
    const bodies = new BodyTable();
    bodies.setMetadata(meta);
    let compared = 0, contacts = 0;
    for (const [start, count] of [[0, 1000], [37, 50], [meta.total_frames - 3, 10]]) {
      const buf = await api(`/${id}/frames.bin?start=${start}&count=${count}`, true);
      const r = decodeRange(buf, bodies);
      assert.ok(r.frames, r.error);
      const want = Math.min(count, meta.total_frames - start);
      assert.deepEqual(r.frames.map((f) => f.frame_id), Array.from({ length: want }, (_, k) => start + k), `ids of start=${start} count=${count}`);
      for (let k = 0; k < r.frames.length; k += 10) {
        const j = packFrame(await api(`/${id}/frames/${r.frames[k].frame_id}/state`)).packed;
        const b = r.frames[k];
        assert.equal(b.simulation_time, j.simulation_time);
        sameArray(j.ids, b.ids, "ids", (x) => x);
        // The replay API's states carry no asset_id: the binary frame's come from the metadata.
        sameArray(Int32Array.from(meta.bodies, (x) => x.asset_id), b.assets, "assets", (x) => x);
        for (const key of ["pose", "velocity"]) sameArray(j[key], b[key], `${key} of frame ${b.frame_id}`);
        sameContacts(j, b, ` of frame ${b.frame_id}`);
        contacts += b.ncol;
        compared++;
      }
    }
    assert.ok(compared >= 10 && contacts > 0, `compared ${compared} frames, ${contacts} collisions`);
  });

  it("rejects a range cut anywhere but between frames, and lying lengths, with one line", async () => {
    const buf = await api(`/${id}/frames.bin?start=0&count=2`, true);
    const split = splitRange(buf);
    assert.equal(split.frames.length, 2);
    const ends = new Set(split.frames.map((f) => f.end));
    for (let n = 1; n < buf.byteLength; n++) {
      const r = splitRange(buf.slice(0, n));
      if (ends.has(n)) assert.equal(r.frames?.length, 1, `cut after the first frame (${n} bytes)`);
      else assert.match(r.error ?? "", /^frame \d of the range/, `${n} bytes: ${JSON.stringify(r)}`);
    }
    const lie = (at, v) => {
      const b = buf.slice(0);
      new DataView(b).setUint32(at, v, true);
      return b;
    };
    assert.match(splitRange(lie(0, 0xffffffff)).error, /its length says 4294967295 bytes/);
    assert.match(splitRange(lie(0, 12)).error, /its length says 12 bytes/);
    assert.match(splitRange(lie(4, 0)).error, /is not an SHF1 frame/);
    // A frame whose own header lies is caught by the frame reader, named by its id.
    assert.match(decodeRange(lie(4 + 12, 1e6)).error, /^frame 0 of the range: the server sent a binary frame the page cannot read/);
    assert.equal(splitRange("not bytes").error, "a frame range is not binary");
  });

  it("keeps each range once, fetches the next ahead, and refetches a range that was short", async () => {
    const urls = [];
    let total = 5; // the recording is still being written: the first answer holds 5 frames
    const full = await api(`/${id}/frames.bin?start=0&count=10`, true);
    const { frames } = splitRange(full);
    const upTo = (n) => full.slice(0, frames[n - 1].end);
    const reader = new RangeReader("/x", async (url) => {
      urls.push(url);
      const q = new URL(url, "http://h");
      const start = Number(q.searchParams.get("start"));
      if (start !== 0) return new ArrayBuffer(0);
      return upTo(total);
    });
    reader.setMetadata(meta);
    const a = await reader.frame({ start: 0, count: 10, id: 3, next: 10 });
    assert.equal(a.packed.frame_id, 3);
    assert.ok(a.packed.decodeMs >= 0 && a.transfer.length > 0);
    const b = await reader.frame({ start: 0, count: 10, id: 4 });
    assert.equal(b.packed.frame_id, 4);
    assert.deepEqual(urls, ["/x/frames.bin?start=0&count=10", "/x/frames.bin?start=10&count=10"], "one fetch per range, the next one ahead");
    total = 10;
    const c = await reader.frame({ start: 0, count: 10, id: 8 });
    assert.equal(c.packed.frame_id, 8, "the short range was fetched again");
    assert.equal(urls.length, 3);
    // Each answer owns its arrays: handing one over leaves the kept range whole.
    structuredClone(a.packed, { transfer: a.transfer });
    assert.equal((await reader.frame({ start: 0, count: 10, id: 3 })).packed.pose.length, 7 * meta.bodies.length);
    await host.stop();
    rmSync(dir, { recursive: true, force: true });
  });
});
