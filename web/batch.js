// CPU batching of an InstancedMesh for software rasterisers: every instance's vertices are
// transformed here into one plain mesh, drawn with a single non-instanced draw call.
//
// Why: on SwiftShader (the rasteriser Chromium uses with no GPU) an instanced draw pays a
// per-instance cost; measured here with 1000 resting cubes, paused, the same triangles drawn as
// one merged mesh ran 1.6–2× the frame rate of the instanced draw (21 → 33–36 fps at quarter
// resolution without shadows, 9 → 18 with them). On a GPU instancing is the cheap path and this
// is not used. It is the "dynamic batching" real engines do for small meshes, with the same
// limit: only meshes whose vertices, times the instances, stay under a budget (the transform
// runs in JavaScript every frame, about 0.3 ms for 36 000 vertices, and the buffers are uploaded).
//
// The InstancedMesh stays the source of truth (instance matrices and colours, picking through
// instanceId); it is only hidden. Raycasting ignores visibility, so picking is unchanged.

import * as THREE from "three";

export const BATCH_MAX_VERTICES = 100000;

export function canBatch(instanced) {
  return instanced.count > 1 && instanced.geometry.getAttribute("position").count * instanced.count <= BATCH_MAX_VERTICES;
}

export class Batch {
  constructor(instanced) {
    this.source = instanced;
    const geo = instanced.geometry;
    this.localPos = geo.getAttribute("position").array;
    this.localNrm = geo.getAttribute("normal").array;
    this.nv = geo.getAttribute("position").count;
    const size = this.nv * instanced.count * 3;
    const attr = (usage) => new THREE.BufferAttribute(new Float32Array(size), 3).setUsage(usage);
    this.pos = attr(THREE.DynamicDrawUsage);
    this.nrm = attr(THREE.DynamicDrawUsage);
    this.col = attr(THREE.DynamicDrawUsage);
    const merged = new THREE.BufferGeometry();
    merged.setAttribute("position", this.pos);
    merged.setAttribute("normal", this.nrm);
    merged.setAttribute("color", this.col);
    const material = instanced.material.clone();
    material.vertexColors = true; // the instance colours, copied per vertex
    this.mesh = new THREE.Mesh(merged, material);
    this.mesh.frustumCulled = false; // the vertices move every frame
    this.mesh.castShadow = instanced.castShadow;
    this.mesh.receiveShadow = instanced.receiveShadow;
    this.matrixVersion = -1;
    this.colorVersion = -1;
  }

  // Rewrites what changed in the source since the last call: vertices when instances moved,
  // colours when one was recoloured (selection, sleep).
  sync() {
    const im = this.source.instanceMatrix, ic = this.source.instanceColor;
    if (im.version !== this.matrixVersion) {
      this.matrixVersion = im.version;
      this.transform(im.array);
    }
    if (ic && ic.version !== this.colorVersion) {
      this.colorVersion = ic.version;
      this.recolor(ic.array);
    }
  }

  transform(m) {
    const { localPos: lp, localNrm: ln, nv } = this;
    const out = this.pos.array, outN = this.nrm.array;
    const count = this.source.count;
    let o = 0;
    for (let i = 0; i < count; i++) {
      const e = 16 * i; // column-major: rotation in e0..e10, translation in e12..e14 (rigid, no scale)
      const a0 = m[e], a1 = m[e + 1], a2 = m[e + 2];
      const b0 = m[e + 4], b1 = m[e + 5], b2 = m[e + 6];
      const c0 = m[e + 8], c1 = m[e + 9], c2 = m[e + 10];
      const tx = m[e + 12], ty = m[e + 13], tz = m[e + 14];
      for (let k = 0; k < 3 * nv; k += 3, o += 3) {
        const x = lp[k], y = lp[k + 1], z = lp[k + 2];
        out[o] = a0 * x + b0 * y + c0 * z + tx;
        out[o + 1] = a1 * x + b1 * y + c1 * z + ty;
        out[o + 2] = a2 * x + b2 * y + c2 * z + tz;
        const nx = ln[k], ny = ln[k + 1], nz = ln[k + 2];
        outN[o] = a0 * nx + b0 * ny + c0 * nz;
        outN[o + 1] = a1 * nx + b1 * ny + c1 * nz;
        outN[o + 2] = a2 * nx + b2 * ny + c2 * nz;
      }
    }
    this.pos.needsUpdate = this.nrm.needsUpdate = true;
  }

  recolor(c) {
    const out = this.col.array, nv = this.nv, count = this.source.count;
    let o = 0;
    for (let i = 0; i < count; i++) {
      const r = c[3 * i], g = c[3 * i + 1], b = c[3 * i + 2];
      for (let k = 0; k < nv; k++, o += 3) {
        out[o] = r;
        out[o + 1] = g;
        out[o + 2] = b;
      }
    }
    this.col.needsUpdate = true;
  }

  dispose() {
    this.mesh.geometry.dispose();
    this.mesh.material.dispose();
  }
}
