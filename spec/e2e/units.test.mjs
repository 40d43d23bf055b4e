// The live view's pure parts, in node (no browser): number parsing, the wire form of an edited
// object, the angle conventions, mesh normals and the translational energy. Run: node --test spec/e2e/units.test.mjs

import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseNumber, Editor } from "../../web/editor.js";
import { quatToPitchRollYaw, pitchRollYawToQuat, DEG, creasedNormals } from "../../web/math.js";
import { frameEnergy, G } from "../../web/plot.js";

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
