// Angle conventions of the protocol and mesh normals, kept apart from the DOM and three.js so node
// can test them.
// Orientation on the wire is [pitch, roll, yaw] in radians with R = Rz(yaw)·Ry(pitch)·Rx(roll):
// pitch about Y, roll about X, yaw about Z. Quaternions are {w, x, y, z}, scalar first.

export const DEG = Math.PI / 180;

// [pitch, roll, yaw] in degrees of a unit quaternion. Near pitch = ±90° roll and yaw are not
// separable (gimbal lock); the split chosen there is still a correct rotation.
export function quatToPitchRollYaw({ w, x, y, z }) {
  const sinp = Math.max(-1, Math.min(1, 2 * (w * y - z * x)));
  const pitch = Math.asin(sinp);
  const roll = Math.atan2(2 * (w * x + y * z), 1 - 2 * (x * x + y * y));
  const yaw = Math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z));
  return [pitch / DEG, roll / DEG, yaw / DEG];
}

// The unit quaternion of [pitch, roll, yaw] in radians (the inverse of the above).
export function pitchRollYawToQuat([pitch, roll, yaw]) {
  const cp = Math.cos(pitch / 2), sp = Math.sin(pitch / 2);
  const cr = Math.cos(roll / 2), sr = Math.sin(roll / 2);
  const cy = Math.cos(yaw / 2), sy = Math.sin(yaw / 2);
  // q = qz(yaw) · qy(pitch) · qx(roll)
  return {
    w: cy * cp * cr + sy * sp * sr,
    x: cy * cp * sr - sy * sp * cr,
    y: cy * sp * cr + sy * cp * sr,
    z: sy * cp * cr - cy * sp * sr,
  };
}

// Vertex normals for a triangle list: each corner averages the normals of the faces meeting at
// its position that bend less than `creaseDeg` from its own face, so spheres and cylinder sides
// shade smoothly while box edges and caps stay sharp. (computeVertexNormals on a non-indexed list
// gives flat facets only.) Runs once per asset per run.
export function creasedNormals(positions, creaseDeg = 35) {
  const faces = positions.length / 9;
  const fn = new Float64Array(faces * 3);
  for (let f = 0; f < faces; f++) {
    const p = f * 9;
    const ux = positions[p + 3] - positions[p], uy = positions[p + 4] - positions[p + 1], uz = positions[p + 5] - positions[p + 2];
    const vx = positions[p + 6] - positions[p], vy = positions[p + 7] - positions[p + 1], vz = positions[p + 8] - positions[p + 2];
    // Not normalised: the cross product's length is twice the area, which weights the average.
    fn[f * 3] = uy * vz - uz * vy;
    fn[f * 3 + 1] = uz * vx - ux * vz;
    fn[f * 3 + 2] = ux * vy - uy * vx;
  }
  const byPosition = new Map(); // quantised position -> faces touching it
  const key = (i) => `${Math.round(positions[i] * 1e5)},${Math.round(positions[i + 1] * 1e5)},${Math.round(positions[i + 2] * 1e5)}`;
  for (let c = 0; c < faces * 3; c++) {
    const k = key(c * 3);
    if (!byPosition.has(k)) byPosition.set(k, []);
    byPosition.get(k).push(Math.floor(c / 3));
  }
  const cos = Math.cos((creaseDeg * Math.PI) / 180);
  const unit = (f) => Math.hypot(fn[f * 3], fn[f * 3 + 1], fn[f * 3 + 2]) || 1;
  const normals = new Float32Array(positions.length);
  for (let c = 0; c < faces * 3; c++) {
    const f = Math.floor(c / 3), lf = unit(f);
    let nx = 0, ny = 0, nz = 0;
    for (const g of byPosition.get(key(c * 3))) {
      const lg = unit(g);
      const dot = (fn[f * 3] * fn[g * 3] + fn[f * 3 + 1] * fn[g * 3 + 1] + fn[f * 3 + 2] * fn[g * 3 + 2]) / (lf * lg);
      if (dot < cos) continue;
      nx += fn[g * 3];
      ny += fn[g * 3 + 1];
      nz += fn[g * 3 + 2];
    }
    const l = Math.hypot(nx, ny, nz) || 1;
    normals[c * 3] = nx / l;
    normals[c * 3 + 1] = ny / l;
    normals[c * 3 + 2] = nz / l;
  }
  return normals;
}
