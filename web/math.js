// Angle conventions of the protocol, kept apart from the DOM so node can test them.
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
