// The live view's pure parts, in node (no browser): number parsing, the wire form of an edited
// object, the angle conventions, mesh normals, the translational energy, the packed frames of the
// decoder and the quality governor. Run: node --test spec/e2e/units.test.mjs

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseNumber, Editor } from "../../web/editor.js";
import { quatToPitchRollYaw, pitchRollYawToQuat, DEG, creasedNormals } from "../../web/math.js";
import { frameEnergy, G, rotationalEnergy, niceCeil, Series } from "../../web/plot.js";
import { describeRecording } from "../../web/recording.js";
import { decode, Frame, FrameOutbox } from "../../web/frames.js";
import { QualityGovernor, LEVELS } from "../../web/quality.js";
import { FrameHistory } from "../../web/history.js";
import { Timeline } from "../../web/timeline.js";

describe("parseNumber", () => {
  it("accepts every finite decimal, 0 included", () => {
    for (const [s, v] of [["0", 0], ["0.0", 0], ["-0", -0], [" 12 ", 12], ["1.5", 1.5], [".5", 0.5], ["5.", 5], ["-3e-2", -0.03], ["+7", 7]]) {
      assert.equal(Object.is(parseNumber(s), v), true, `${JSON.stringify(s)} -> ${parseNumber(s)}`);
    }
  });
  it("rejects what is not a number", () => {
    for (const s of ["", " ", "abc", "1,5", "0x10", "Infinity", "NaN", "1e", "--1", "1 2", "1e400"]) {
      assert.equal(parseNumber(s), null, JSON.stringify(s));
    }
  });
});

describe("Editor.wireObject", () => {
  const base = { asset_name: "unit_cube", object_type: "inertial", position: [0, 0, 0], orientation_deg: [0, 0, 0], mass: 10, restitution: 0, friction: 0, velocity: [0, 0, 0] };
  it("sends 0 as 0, not as the default", () => {
    const w = Editor.wireObject(base);
    assert.equal(w.restitution, 0);
    assert.equal(w.friction, 0);
    assert.deepEqual(w.position, [0, 0, 0]);
    assert.equal(JSON.stringify(w).includes('"restitution":0,'), true);
  });
  it("converts degrees to radians in [pitch, roll, yaw] order", () => {
    const w = Editor.wireObject({ ...base, orientation_deg: [90, -45, 180] });
    assert.deepEqual(w.orientation.map((r) => +r.toFixed(12)), [+(Math.PI / 2).toFixed(12), +(-Math.PI / 4).toFixed(12), +Math.PI.toFixed(12)]);
  });
  it("sends mass for inertial objects only and velocity only when set", () => {
    assert.equal(Editor.wireObject(base).mass, 10);
    assert.equal("velocity" in Editor.wireObject(base), false);
    const env = Editor.wireObject({ ...base, object_type: "environment", velocity: [0, 0, 1] });
    assert.equal("mass" in env, false);
    assert.deepEqual(env.velocity, [0, 0, 1]);
  });
});

describe("angles", () => {
  // Rotates v by q (Hamilton, scalar first).
  function rotate(q, [x, y, z]) {
    const { w, x: a, y: b, z: c } = q;
    const tx = 2 * (b * z - c * y), ty = 2 * (c * x - a * z), tz = 2 * (a * y - b * x);
    return [x + w * tx + (b * tz - c * ty), y + w * ty + (c * tx - a * tz), z + w * tz + (a * ty - b * tx)];
  }
  const close = (a, b, eps = 1e-9) => a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) < eps, `${a} vs ${b}`));

  it("pitch turns about Y, roll about X, yaw about Z", () => {
    close(rotate(pitchRollYawToQuat([90 * DEG, 0, 0]), [1, 0, 0]), [0, 0, -1]);
    close(rotate(pitchRollYawToQuat([0, 90 * DEG, 0]), [0, 1, 0]), [0, 0, 1]);
    close(rotate(pitchRollYawToQuat([0, 0, 90 * DEG]), [1, 0, 0]), [0, 1, 0]);
  });
  it("composes as Rz(yaw)·Ry(pitch)·Rx(roll)", () => {
    const q = pitchRollYawToQuat([30 * DEG, 20 * DEG, 40 * DEG]);
    const v = [0.3, -1.2, 0.7];
    const step = (angles, u) => rotate(pitchRollYawToQuat(angles), u);
    close(rotate(q, v), step([0, 0, 40 * DEG], step([30 * DEG, 0, 0], step([0, 20 * DEG, 0], v))));
  });
  it("reads back the angles it was given", () => {
    for (const a of [[0, 0, 0], [10, 20, 30], [-45, 170, -120], [89, -5, 5]]) {
      close(quatToPitchRollYaw(pitchRollYawToQuat(a.map((d) => d * DEG))), a, 1e-7);
    }
  });
});

describe("frameEnergy", () => {
  it("is ½m|v|² and m·g·z over the dynamic bodies", () => {
    const frame = { states: [
      { body_id: 0, is_environment: true, position: { x: 0, y: 0, z: -1 }, velocity: { x: 0, y: 0, z: 0 } },
      { body_id: 1, is_environment: false, position: { x: 5, y: 0, z: 2 }, velocity: { x: 3, y: 4, z: 0 } },
    ] };
    const e = frameEnergy(frame, new Map([[0, 1000], [1, 2]]));
    assert.equal(e.kinetic, 25);
    assert.equal(e.potential, 2 * G * 2);
    assert.equal(e.total, 25 + 4 * G);
  });
});

describe("rotational energy, scales and series", () => {
  it("is ½ωᵀIω in the body frame, whatever the orientation", () => {
    const I = [2, 0, 0, 0, 3, 0, 0, 0, 4];
    assert.equal(rotationalEnergy(I, [1, 0, 0, 0], [1, 0, 0]), 1); // ½·2·1²
    // Turned 90° about z, a world spin about x is a body spin about −y: ½·3·1².
    const h = Math.SQRT1_2;
    assert.ok(Math.abs(rotationalEnergy(I, [h, 0, 0, h], [1, 0, 0]) - 1.5) < 1e-12);
    const frame = { states: [{ body_id: 1, is_environment: false, position: { x: 0, y: 0, z: 0 }, velocity: { x: 0, y: 0, z: 0 },
      orientation: { w: 1, x: 0, y: 0, z: 0 }, angular_velocity: { x: 0, y: 0, z: 2 } }] };
    const e = frameEnergy(frame, new Map([[1, 5]]), new Map([[1, I]]));
    assert.deepEqual([e.linear, e.rotational, e.kinetic, e.total], [0, 8, 8, 8]);
  });
  it("rounds a force scale up to 1, 2 or 5 × 10^k", () => {
    assert.deepEqual([98.1, 100, 101, 9.81, 0.3, 2500].map(niceCeil), [100, 100, 200, 10, 0.5, 5000]);
  });
  it("keeps a bounded series, finds the sample nearest a time and writes CSV", () => {
    const s = new Series(["a"], 8);
    for (let i = 0; i < 20; i++) s.add(i, { a: i * 10 });
    assert.ok(s.n <= 8);
    assert.equal(s.t[0], 0);
    assert.equal(s.values.a[s.nearest(7.9)], s.t[s.nearest(7.9)] * 10);
    s.add(3, { a: 0 }); // not after the last: ignored
    assert.equal(s.csv(["a_J"]).split("\n")[0], "simulation_time_s,a_J");
  });
  it("describes a recording for the list in words", () => {
    const base = { id: "r1", readable: true, scenario: "pile", body_count: 11, total_frames: 120, timestep: 1 / 60, created: "2026-12-07T03:00:00Z" };
    assert.match(describeRecording({ ...base, finished: true, complete: true }).detail, /^11 bodies · 2\.0 s · 120 frames · complete$/);
    assert.equal(describeRecording({ ...base, finished: false, complete: false }).state, "recording");
    assert.match(describeRecording({ ...base, finished: true, complete: false, reason: "writer fell behind" }).detail, /incomplete: writer fell behind/);
    assert.match(describeRecording({ id: "bad", readable: false, error: "file is not a database" }).detail, /cannot be read: file is not a database/);
  });
});

describe("creasedNormals", () => {
  it("keeps a box's faces flat (90° edges are creases)", () => {
    // Two triangles of the +Z face and two of the +X face of a unit cube, sharing an edge.
    const pos = [0, 0, 1, 1, 0, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1, 1, 1, 0, 0, 1, 1, 0, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 1];
    const n = creasedNormals(pos);
    for (let c = 0; c < 6; c++) assert.deepEqual([...n.slice(c * 3, c * 3 + 3)], [0, 0, 1]);
    for (let c = 6; c < 12; c++) assert.deepEqual([...n.slice(c * 3, c * 3 + 3)], [1, 0, 0]);
  });
  it("smooths a shallow fold", () => {
    // Two triangles meeting at 10°: the shared corners get the average normal.
    const t = Math.tan((10 * Math.PI) / 180);
    const pos = [0, 0, 0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 1, 1, t, 0, 1, 0];
    const n = creasedNormals(pos);
    const shared = [...n.slice(3, 6)];
    assert.ok(shared[2] < 1 && shared[2] > 0.99 && shared[0] < 0, `shared corner normal ${shared}`);
    assert.deepEqual([...n.slice(0, 3)], [0, 0, 1]); // corner on the first face only
  });
});

// A wire frame as the host writes it: two bodies (the ground and a sleeping cube), one collision
// with two contacts, the second without the (ext) impulses.
const wireFrame = {
  frame_id: 7, simulation_time: 0.112,
  states: [
    { body_id: 0, asset_id: 3, position: { x: 0, y: 0, z: -0.5 }, velocity: { x: 0, y: 0, z: 0 }, orientation: { w: 1, x: 0, y: 0, z: 0 }, angular_velocity: { x: 0, y: 0, z: 0 }, is_environment: true },
    { body_id: 1, asset_id: 1, position: { x: 1.25, y: -2, z: 0.5 }, velocity: { x: 0.1, y: 0, z: -3 }, orientation: { w: 0.5, x: 0.5, y: -0.5, z: 0.5 }, angular_velocity: { x: 0, y: 2, z: 0 }, is_environment: false, sleeping: true },
  ],
  collisions: [{ body_a_id: 0, body_b_id: 1, normal: { x: 0, y: 0, z: 1 }, penetration_depth: 0.01, contacts: [
    { point_a: { x: 1, y: -2, z: 0 }, point_b: { x: 1, y: -2, z: -0.01 }, depth: 0.01, normal_impulse: 2.5, friction_impulse: 0.25 },
    { point_a: { x: 1.5, y: -2, z: 0 }, point_b: { x: 1.5, y: -2, z: -0.01 }, depth: 0.01 },
  ] }],
  solver: { iterations: 4, residual: 1e-7, converged: true, num_constraints: 2, num_contacts: 2 },
};

describe("frame decoding", () => {
  it("packs a frame into typed arrays and gives the wire form back unchanged", () => {
    const r = decode(JSON.stringify({ type: "frame", data: wireFrame }));
    assert.ok(r.packed, "a frame comes back packed");
    assert.ok(r.transfer.every((b) => b instanceof ArrayBuffer), "its arrays are transferable");
    const f = new Frame(r.packed);
    assert.equal(f.n, 2);
    assert.deepEqual(JSON.parse(JSON.stringify(f)), wireFrame);
    assert.deepEqual(f.stateOf(1), wireFrame.states[1]);
    assert.equal(f.stateOf(99), null);
    assert.equal(f.contactsOf(1), 2);
    assert.equal(f.contactsOf(5), 0);
  });
  it("carries the friction impulse vector and lists a body's contacts with the impulses on it", () => {
    const data = structuredClone(wireFrame);
    data.collisions[0].contacts[0].friction_impulse_vector = { x: -0.25, y: 0, z: 0 };
    const f = new Frame(decode(JSON.stringify({ type: "frame", data })).packed);
    assert.deepEqual(JSON.parse(JSON.stringify(f)).collisions[0].contacts[0].friction_impulse_vector, { x: -0.25, y: 0, z: 0 });
    const onB = f.contactsFor(1); // body 1 is B of the pair: the wire's impulses as they are
    assert.equal(onB.length, 2);
    assert.deepEqual([onB[0].other, onB[0].normal.z, onB[0].frictionVector.x, onB[0].normalImpulse], [0, 1, -0.25, 2.5]);
    assert.equal(onB[1].frictionVector, null, "no vector on the wire: none");
    const onA = f.contactsFor(0); // body 0 is A: the same impulses, opposite
    assert.deepEqual([onA[0].other, onA[0].normal.z, onA[0].frictionVector.x], [1, -1, 0.25]);
    assert.deepEqual(f.contactsFor(5), []);
  });
  it("finds bodies that are not in body_id order", () => {
    const data = { ...wireFrame, states: [{ ...wireFrame.states[1], body_id: 4 }, { ...wireFrame.states[0], body_id: 2 }] };
    const f = new Frame(decode(JSON.stringify({ type: "frame", data })).packed);
    assert.equal(f.stateOf(2).is_environment, true);
    assert.equal(f.stateOf(4).position.x, 1.25);
  });
  it("computes the same energy from the arrays as from the states", () => {
    const f = new Frame(decode(JSON.stringify({ type: "frame", data: wireFrame })).packed);
    const masses = new Map([[0, 1000], [1, 2]]);
    assert.deepEqual(frameEnergy(f, masses), frameEnergy(wireFrame, masses));
  });
  it("passes other messages through and reports bad text in one line", () => {
    assert.deepEqual(decode('{"type":"complete","total_frames":3,"elapsed_s":0.1}'), { msg: { type: "complete", total_frames: 3, elapsed_s: 0.1 } });
    assert.deepEqual(decode("{nope"), { error: "the server sent a message that is not JSON" });
    assert.deepEqual(decode('{"type":"frame","data":{"states":[{"body_id":1}]}}'), { error: "the server sent a frame the page cannot read" });
  });
  it("hands frames over in order, keeps only the newest while the page is behind, never drops other messages", () => {
    const got = [];
    const box = new FrameOutbox((m) => got.push(m.packed ? m.packed.frame_id : m.msg?.type ?? m.error));
    const frame = (id) => JSON.stringify({ type: "frame", data: { ...wireFrame, frame_id: id } });
    box.push(frame(1));
    box.push(frame(2)); // two unacknowledged: the page is behind from here
    box.push(frame(3));
    box.push(frame(4)); // replaces 3
    assert.deepEqual(got, [1, 2]);
    assert.equal(box.coalesced, 1);
    box.push('{"type":"complete","total_frames":5}'); // the waiting frame goes first, then this
    assert.deepEqual(got, [1, 2, 4, "complete"]);
    box.ack();
    box.ack();
    box.ack();
    box.push(frame(5));
    box.push("not json");
    assert.deepEqual(got, [1, 2, 4, "complete", 5, "the server sent a message that is not JSON"]);
    box.push(frame(6));
    box.push(frame(7)); // waits: 5 and 6 unacknowledged
    box.ack();
    assert.deepEqual(got.slice(-2), [6, 7], "an acknowledgement lets the waiting frame go");
  });
});

// Packed frames of a falling body: frame i at i·16 ms, z = 10 − i.
const packedAt = (i) => decode(JSON.stringify({ type: "frame", data: { ...wireFrame, frame_id: i, simulation_time: i * 0.016,
  states: [{ ...wireFrame.states[1], position: { x: 0, y: 0, z: 10 - i } }] } })).packed;

describe("FrameHistory", () => {
  it("keeps every frame, finds them by id, offset and time, and narrows floats to float32", () => {
    const h = new FrameHistory();
    for (let i = 0; i < 50; i++) h.add(packedAt(i));
    assert.equal(h.count, 50);
    assert.equal(h.get({ id: 10 }).frame_id, 10);
    assert.equal(h.get({ id: 10, offset: -1 }).frame_id, 9);
    assert.equal(h.get({ id: 0, offset: -1 }).frame_id, 0, "clamped at the first");
    assert.equal(h.get({ id: 49, offset: 1 }).frame_id, 49, "clamped at the last");
    assert.equal(h.get({ time: 0.016 * 20.4 }).frame_id, 20, "nearest in time");
    assert.equal(h.get({ time: 0.016 * 20.6 }).frame_id, 21);
    assert.equal(h.get({ time: -5 }).frame_id, 0);
    assert.equal(h.get({ time: 99 }).frame_id, 49);
    assert.equal(h.get({ first: true }).frame_id, 0);
    assert.equal(h.get({ last: true }).frame_id, 49);
    assert.ok(h.get({ id: 3 }).pose instanceof Float32Array);
    assert.equal(new Frame(h.get({ id: 3 })).stateOf(1).position.z, 7);
    h.add(packedAt(20)); // out of order: ignored
    assert.equal(h.count, 50);
    const r = h.range();
    assert.deepEqual([r.count, r.firstId, r.lastId, r.t0, r.t1 > 0.78], [50, 0, 49, 0, true]);
  });
  it("drops the oldest frames past its byte and frame bounds", () => {
    const one = new FrameHistory();
    one.add(packedAt(0));
    const size = one.bytes;
    const h = new FrameHistory(size * 10 + 1, 1000);
    for (let i = 0; i < 25; i++) h.add(packedAt(i));
    assert.equal(h.count, 10);
    assert.equal(h.range().firstId, 15);
    assert.equal(h.range().dropped, 15);
    const k = new FrameHistory(1e9, 7);
    for (let i = 0; i < 3000; i++) k.add(packedAt(i));
    assert.deepEqual([k.count, k.range().firstId, k.get({ id: 10 }).frame_id], [7, 2993, 2993]);
  });
  it("an empty history answers null", () => {
    const h = new FrameHistory();
    assert.equal(h.get({ last: true }), null);
    assert.equal(h.range().count, 0);
  });
});

// A timeline over a history, as the page drives it (a source answering at once).
function historySource(n) {
  const h = new FrameHistory();
  for (let i = 0; i < n; i++) h.add(packedAt(i));
  return { kind: "recording", range: () => h.range(), get: async (q) => (h.get(q) ? new Frame(h.get(q)) : null) };
}
const settle = () => new Promise((r) => setTimeout(r, 0));

describe("Timeline", () => {
  it("steps, seeks, plays at a speed, stops at the end, and loops", async () => {
    const shown = [];
    const tl = new Timeline({ onFrame: (f) => shown.push(f.frame_id) });
    tl.setSource(historySource(100));
    tl.home();
    await settle();
    assert.equal(tl.frame.frame_id, 0);
    tl.step(1);
    await settle();
    tl.step(1);
    await settle();
    tl.step(-1);
    await settle();
    assert.deepEqual(shown, [0, 1, 2, 1]);
    tl.scrubTo(0.5);
    await settle();
    assert.equal(tl.frame.frame_id, 50); // 0.5 of 0 … 1.584 s is 0.792 s = frame 49.5 → nearest 50
    tl.setSpeed(2);
    tl.play();
    tl.tick(1000);
    tl.tick(1080); // 80 ms of wall time at 2× = 160 ms = 10 frames
    await settle();
    assert.equal(tl.frame.frame_id, 60);
    tl.faster(1);
    assert.equal(tl.speed, 4);
    tl.faster(1);
    assert.equal(tl.speed, 4, "4× is the top");
    tl.faster(-1);
    tl.faster(-1);
    tl.faster(-1);
    tl.faster(-1);
    assert.equal(tl.speed, 0.25);
    tl.setSpeed(4);
    for (let t = 1100; t < 1100 + 20 * 100; t += 100) tl.tick(t); // far past the end
    await settle();
    assert.equal(tl.frame.frame_id, 99);
    assert.equal(tl.playing, false, "a recording stops at its end");
    tl.setLoop(true);
    tl.play(); // from the end: starts over
    await settle();
    assert.equal(tl.frame.frame_id, 0);
    tl.seekTime(99 * 0.016);
    await settle();
    tl.play();
    tl.tick(5000);
    tl.tick(5050);
    await settle();
    assert.equal(tl.frame.frame_id, 0, "loop wraps to the first frame");
  });
  it("on a live source, pause holds the newest frame and back-to-live follows again", async () => {
    const src = historySource(30);
    src.kind = "live";
    const head = await src.get({ last: true });
    const tl = new Timeline({ onFrame: () => {}, liveFrame: () => head });
    tl.setSource(src);
    assert.equal(tl.following, true);
    assert.equal(tl.position().id, 29);
    tl.togglePlay(); // pause the view
    assert.equal(tl.following, false);
    assert.equal(tl.frame.frame_id, 29);
    tl.step(-1);
    await settle();
    assert.equal(tl.position().id, 28);
    tl.play();
    tl.tick(0);
    tl.tick(100); // past the head: rejoins the run
    assert.equal(tl.following, true);
    tl.step(-1);
    await settle();
    assert.equal(tl.frame.frame_id, 28);
    tl.backToLive();
    assert.equal(tl.following, true);
    assert.equal(tl.frame, null);
  });

  it("says why a frame cannot be fetched, once, and clears it when one can again", async () => {
    const src = historySource(10);
    const get = src.get;
    let down = true;
    src.get = async (q) => {
      if (down) throw new Error("the host does not answer (is simhost serve still running?)");
      return get(q);
    };
    const errors = [];
    const tl = new Timeline({ onFrame: () => {}, onError: (t) => errors.push(t) });
    tl.setSource(src);
    tl.home();
    await settle();
    tl.step(1);
    await settle();
    assert.deepEqual(errors, ["the host does not answer (is simhost serve still running?)"], "said once");
    assert.equal(tl.frame, null);
    down = false;
    tl.step(1);
    await settle();
    assert.deepEqual(errors.slice(1), [""], "cleared by the next frame shown");
    assert.equal(tl.frame.frame_id, 9);
  });
});

describe("QualityGovernor", () => {
  // Feeds animation frames `ms` apart for `seconds`; returns the time reached.
  const run = (g, t, ms, seconds) => {
    for (const end = t + seconds * 1000; t < end; t += ms) g.tick(t);
    return t;
  };
  it("steps down while frames miss the budget, to the lowest level and no further", () => {
    const levels = [];
    const g = new QualityGovernor((l) => levels.push(l));
    assert.deepEqual(levels, [LEVELS[0]]);
    run(g, 1, 100, 10); // 10 fps: two levels at a time
    assert.equal(g.level, LEVELS.length - 1);
    assert.deepEqual(levels, [LEVELS[0], LEVELS[2], LEVELS[4], LEVELS[5]]);
    assert.match(g.reason, /10 fps, under the 50 fps budget/);
  });
  it("holds a level that keeps the budget, and climbs back when there is room", () => {
    const g = new QualityGovernor(() => {});
    let t = run(g, 1, 30, 3); // 33 fps: steps down, a level at a time
    t = run(g, t, 19, 1); // (the window that straddles the change may step once more)
    const low = g.level;
    assert.ok(low > 0);
    t = run(g, t, 19, 5); // 52 fps: within budget, not at the display's rate: stays
    assert.equal(g.level, low);
    run(g, t, 1000 / 60, 30); // 60 fps: back up, a level at a time
    assert.equal(g.level, 0);
    assert.match(g.reason, /60 fps with room to spare/);
  });
  it("backs off from a level that failed when tried again", () => {
    const g = new QualityGovernor(() => {});
    let t = 1;
    while (g.level === 0 && t < 5000) g.tick((t += 30)); // 33 fps: one level down
    assert.equal(g.level, 1);
    const tries = [];
    // Fast at level 1, slow at level 0: every try of level 0 fails; the waits between them double.
    for (let i = 0; i < 4000; i++) {
      const was = g.level;
      g.tick(t);
      if (g.level === 0 && was === 1) tries.push(t);
      t += g.level === 0 ? 30 : 1000 / 60;
    }
    assert.ok(tries.length >= 3, `tries: ${tries.length}`);
    const waits = tries.slice(1).map((v, i) => v - tries[i]);
    assert.ok(waits[1] > waits[0] * 1.5, `waits between tries grow: ${waits.map(Math.round)}`);
  });
  it("backs off from a level that holds a moment and then fails", () => {
    const g = new QualityGovernor(() => {});
    let t = 1;
    while (g.level === 0 && t < 5000) g.tick((t += 30));
    const tries = [];
    let since = 0;
    // Level 0 is fine for its first second, then slow: it must still count as failed.
    for (let i = 0; i < 6000; i++) {
      const was = g.level;
      g.tick(t);
      if (g.level === 0 && was === 1) {
        tries.push(t);
        since = t;
      }
      t += g.level === 0 && t - since > 1000 ? 30 : 1000 / 60;
    }
    const waits = tries.slice(1).map((v, i) => v - tries[i]);
    assert.ok(waits.length >= 3 && waits[2] > waits[0] * 1.5, `waits between tries grow: ${waits.map(Math.round)}`);
  });
  it("learns a slow display's rate from still frames and does not take it for slow drawing", () => {
    const g = new QualityGovernor(() => {});
    let t = 1;
    for (const end = t + 3000; t < end; t += 1000 / 30) g.tick(t, true); // a 30 Hz display, view still
    t = run(g, t, 1000 / 30, 5); // drawing at the display's rate
    assert.equal(g.level, 0);
    run(g, t, 50, 3); // 20 fps on a 30 Hz display: too slow
    assert.ok(g.level > 0);
    assert.match(g.reason, /20 fps, under the 25 fps budget/);
  });
  it("ignores idle frames and does nothing when off", () => {
    const g = new QualityGovernor(() => {});
    for (let t = 1; t < 5000; t += 100) g.tick(t, true); // nothing drawn: long gaps mean nothing
    assert.equal(g.level, 0);
    g.setAuto(false, 5000);
    run(g, 5000, 100, 5);
    assert.equal(g.level, 0);
  });
});
