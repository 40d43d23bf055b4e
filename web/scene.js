// The 3D view. World is +Z up (protocol.md), so the camera's up is +Z and the grid lies in XY.
//
// Speed: bodies are drawn with one InstancedMesh per (asset, static/dynamic), so 1000 bodies of
// one asset cost a handful of draw calls instead of a thousand, and a frame only rewrites the
// instance matrices in place. applyFrame allocates nothing: scratch vectors are module-level and
// overlay buffers are sized once per run (on metadata).

import * as THREE from "three";
import { OrbitControls } from "three/addons/OrbitControls.js";
import { creasedNormals } from "./math.js";
import { ENV, SLEEPING } from "./frames.js";
import { Batch, canBatch } from "./batch.js";

const COLOR_INERTIAL = new THREE.Color(0xf0a040);
const COLOR_ENVIRONMENT = new THREE.Color(0x77818f);
const COLOR_SELECTED = new THREE.Color(0x4fd1ff);
const ASLEEP_DIM = 0.4; // asleep bodies keep their hue at 40 % brightness
const MAX_CONTACTS = 8192; // contact points drawn per frame; more are skipped (and counted)
const VELOCITY_SECONDS = 0.25; // a velocity arrow shows where the body is 0.25 s later
const MAX_FORCE_ARROWS = 4096; // normal and friction arrows drawn per frame, each; more are skipped
const ARROW_SEGMENTS = 3; // a shaft and two strokes of the head
const MIN_FRICTION_ARROW_M = 0.01; // a friction arrow shorter than 1 cm is not drawn (nothing slides)
const HOME = { position: new THREE.Vector3(9, -11, 6.5), target: new THREE.Vector3(0, 0, 1) };

const _m = new THREE.Matrix4();
const _p = new THREE.Vector3();
const _q = new THREE.Quaternion();
const _one = new THREE.Vector3(1, 1, 1);
const _c = new THREE.Color();
const _v = new THREE.Vector3();
const _delta = new THREE.Vector3();

// Marks the first `vertices` of an overlay buffer for upload. Without a range three.js uploads the
// whole buffer, sized for the most it may hold: the contact normals alone are 196 KB a frame
// (MAX_CONTACTS segments) whatever the frame's contacts. Nothing is drawn past the draw range, so
// nothing past it needs to be current.
function uploadUsed(attr, vertices) {
  if (vertices <= 0) return;
  attr.clearUpdateRanges();
  attr.addUpdateRange(0, vertices * attr.itemSize);
  attr.needsUpdate = true;
}

function lineBuffer(maxSegments, withColors) {
  const geo = new THREE.BufferGeometry();
  const pos = new THREE.BufferAttribute(new Float32Array(maxSegments * 6), 3);
  pos.setUsage(THREE.DynamicDrawUsage);
  geo.setAttribute("position", pos);
  if (withColors) {
    const col = new THREE.BufferAttribute(new Float32Array(maxSegments * 6), 3);
    geo.setAttribute("color", col);
  }
  geo.setDrawRange(0, 0);
  return geo;
}

// Arrow `slot` of a line buffer: a shaft from (x, y, z) along d and a two-stroke head at its tip.
function writeArrow(attr, slot, x, y, z, dx, dy, dz) {
  const v = slot * ARROW_SEGMENTS * 2;
  const tx = x + dx, ty = y + dy, tz = z + dz;
  attr.setXYZ(v, x, y, z);
  attr.setXYZ(v + 1, tx, ty, tz);
  const len = Math.hypot(dx, dy, dz) || 1;
  const h = Math.min(0.25 * len, 0.12); // head length, m
  // A direction across the shaft: d × z, or d × x when d is (nearly) vertical.
  let px = dy, py = -dx, pz = 0;
  if (Math.hypot(px, py) < 1e-3 * len) {
    px = 0;
    py = dz;
    pz = -dy;
  }
  const pl = Math.hypot(px, py, pz) || 1;
  const bx = tx - (dx / len) * h, by = ty - (dy / len) * h, bz = tz - (dz / len) * h;
  const sx = (px / pl) * h * 0.5, sy = (py / pl) * h * 0.5, sz = (pz / pl) * h * 0.5;
  attr.setXYZ(v + 2, tx, ty, tz);
  attr.setXYZ(v + 3, bx + sx, by + sy, bz + sz);
  attr.setXYZ(v + 4, tx, ty, tz);
  attr.setXYZ(v + 5, bx - sx, by - sy, bz - sz);
}

function isSoftwareGL() {
  const gl = document.createElement("canvas").getContext("webgl2");
  if (!gl) return true;
  const info = gl.getExtension("WEBGL_debug_renderer_info");
  const name = info ? String(gl.getParameter(info.UNMASKED_RENDERER_WEBGL)) : "";
  gl.getExtension("WEBGL_lose_context")?.loseContext();
  return /swiftshader|llvmpipe|software/i.test(name);
}

export class SceneView {
  constructor(canvas) {
    this.canvas = canvas;
    // On a software rasteriser (no GPU: SwiftShader, llvmpipe) multisampling and a big shadow map
    // cost more than everything else together; trade them for frame rate there.
    this.software = isSoftwareGL();
    // preserveDrawingBuffer: the canvas stays readable (screenshots, the e2e pixel checks).
    this.renderer = new THREE.WebGLRenderer({ canvas, antialias: !this.software, preserveDrawingBuffer: true });
    // Past 2 device pixels per CSS pixel the eye gains little and the fill cost keeps growing; a
    // software rasteriser renders at 1. The quality governor (quality.js) scales this down further
    // when frames miss their budget.
    this.baseRatio = this.software ? 1 : Math.min(window.devicePixelRatio || 1, 2);
    this.quality = { scale: 1, shadows: true };
    this.renderer.setPixelRatio(this.baseRatio);
    this.renderer.shadowMap.enabled = true;
    this.renderer.shadowMap.type = this.software ? THREE.BasicShadowMap : THREE.PCFShadowMap;
    // The light and the ground never move, so the shadow map is redrawn only when bodies moved (a
    // new frame) or casting changed — not for every camera move or repaint.
    this.renderer.shadowMap.autoUpdate = false;
    this.renderer.shadowMap.needsUpdate = true;
    this.userShadows = true;

    this.scene = new THREE.Scene();
    this.scene.background = new THREE.Color(0x1b2027);

    this.camera = new THREE.PerspectiveCamera(50, 1, 0.05, 2000);
    this.camera.up.set(0, 0, 1);
    this.controls = new OrbitControls(this.camera, canvas);
    this.controls.enableDamping = false; // no motion after the user lets go: the view stays put for screenshots
    this.resetCamera();

    this.scene.add(new THREE.HemisphereLight(0xdde8ff, 0x3a3228, 1.2));
    const sun = new THREE.DirectionalLight(0xffffff, 2.2);
    sun.position.set(12, -8, 25);
    sun.castShadow = true;
    sun.shadow.mapSize.setScalar(this.software ? 1024 : 2048);
    const sc = sun.shadow.camera;
    sc.left = sc.bottom = -25;
    sc.right = sc.top = 25;
    sc.near = 1;
    sc.far = 80;
    sun.shadow.bias = -0.0005;
    this.scene.add(sun, sun.target);

    const grid = new THREE.GridHelper(40, 40, 0x5b6675, 0x38404a);
    grid.rotation.x = Math.PI / 2; // GridHelper lies in XZ; the world's ground plane is XY
    grid.position.z = 0.003; // just above the ground slab's top face, to avoid z-fighting
    this.scene.add(grid);
    this.scene.add(new THREE.AxesHelper(1));

    this.bodyGroup = new THREE.Group();
    this.overlayGroup = new THREE.Group();
    this.scene.add(this.bodyGroup, this.overlayGroup);

    this.bodies = new Map(); // body_id -> { mesh, index, info, radius, sleeping }
    this.meshes = [];
    this.batches = [];
    this.batching = true; // software GL only; a switch for measuring the instanced path there
    this.geometries = new Map(); // asset_id -> BufferGeometry (shared by all bodies of the asset)
    this.selected = -1;
    this.follow = false;
    this.overlays = { contacts: true, velocity: false, axes: false, forces: false, gravity: false };
    // Force arrows: metres of arrow per newton (the legend shows its inverse) and the step the
    // impulses on the wire span (force = impulse / timestep). The page sets both per run.
    this.forceScale = 100; // N per metre
    this.timestep = 1 / 60;
    this.arrowCounts = { normal: 0, friction: 0, gravity: 0 };
    this.skippedContacts = 0;
    this.lastFrame = null;
    this.buildOverlays(0);
    // Drawing is on demand: a repaint only when something visible changed (a frame, the camera,
    // a toggle, a resize). A paused or finished run then costs nothing per display refresh.
    this.dirty = true;
    this.controls.addEventListener("change", () => this.invalidate());

    new ResizeObserver(() => this.resize()).observe(canvas.parentElement);
    this.resize();
  }

  invalidate() {
    this.dirty = true;
  }

  resize() {
    const el = this.canvas.parentElement;
    const w = Math.max(1, el.clientWidth), h = Math.max(1, el.clientHeight);
    this.renderer.setSize(w, h, false);
    this.camera.aspect = w / h;
    this.camera.updateProjectionMatrix();
    this.invalidate();
  }

  // Applies a level of quality.js: resolution scale and whether bodies cast shadows.
  setQuality(q) {
    this.quality = q;
    const ratio = this.baseRatio * q.scale;
    if (this.renderer.getPixelRatio() !== ratio) this.renderer.setPixelRatio(ratio);
    this.applyShadows();
  }

  // The user's shadows toggle; the governor can also turn them off, never on against the user.
  setShadows(on) {
    this.userShadows = on;
    this.applyShadows();
  }

  get shadows() {
    return this.userShadows && this.quality.shadows;
  }

  applyShadows() {
    // Turning casting off on the meshes (rather than the light or the renderer) keeps every
    // shader program as it is: no recompilation, which on a software rasteriser is a long stall.
    // The shadow pass then draws nothing, and the ground keeps sampling an empty map.
    const on = this.shadows;
    for (const mesh of this.meshes) (mesh.userData.drawn ?? mesh).castShadow = on && !mesh.userData.environment;
    this.renderer.shadowMap.needsUpdate = true;
    this.invalidate();
  }

  resetCamera() {
    this.camera.position.copy(HOME.position);
    this.controls.target.copy(HOME.target);
    // Frame the dynamic bodies of the last frame when there are any, so a big pile fits.
    const f = this.lastFrame;
    if (f) {
      const box = new THREE.Box3();
      for (let i = 0; i < f.n; i++) if (!(f.flags[i] & ENV)) box.expandByPoint(_p.fromArray(f.pose, 7 * i));
      if (!box.isEmpty()) {
        const center = box.getCenter(new THREE.Vector3());
        const r = Math.max(2, box.getSize(new THREE.Vector3()).length() / 2);
        this.controls.target.copy(center);
        const dir = HOME.position.clone().sub(HOME.target).normalize();
        this.camera.position.copy(center).addScaledVector(dir, r * 2.2 + 4);
      }
    }
    this.controls.update();
    this.invalidate();
  }

  clear() {
    for (const mesh of this.meshes) {
      this.bodyGroup.remove(mesh);
      mesh.material.dispose();
      mesh.dispose();
    }
    for (const batch of this.batches) {
      this.bodyGroup.remove(batch.mesh);
      batch.dispose();
    }
    this.batches = [];
    for (const geo of this.geometries.values()) geo.dispose();
    this.meshes = [];
    this.geometries.clear();
    this.bodies.clear();
    this.selected = -1;
    this.lastFrame = null;
    this.renderer.shadowMap.needsUpdate = true;
    this.invalidate();
  }

  // Builds the meshes of a run from `metadata`.
  setMetadata(meta) {
    // A different scene than the last run's gets the camera framed on its first frame; a rerun of
    // the same scene keeps the view the user chose.
    const signature = meta.bodies.map((b) => b.asset_id).join(",");
    this.frameOnNext = signature !== this.signature;
    this.signature = signature;
    this.clear();
    for (const a of meta.assets) {
      const geo = new THREE.BufferGeometry(); // non-indexed: the wire sends a triangle list
      geo.setAttribute("position", new THREE.BufferAttribute(new Float32Array(a.positions), 3));
      geo.setAttribute("normal", new THREE.BufferAttribute(creasedNormals(a.positions), 3));
      geo.computeBoundingSphere();
      this.geometries.set(a.asset_id, geo);
    }
    const groups = new Map(); // "asset_id/env" -> [LiveBody]
    for (const b of meta.bodies) {
      const key = `${b.asset_id}/${b.is_environment ? 1 : 0}`;
      if (!groups.has(key)) groups.set(key, []);
      groups.get(key).push(b);
    }
    for (const list of groups.values()) {
      const geo = this.geometries.get(list[0].asset_id);
      if (!geo) continue; // metadata always carries the geometry of every asset used; be safe anyway
      const env = list[0].is_environment;
      // Lambert is a far cheaper fragment shader than the physically based one, which matters on a
      // software rasteriser; with a GPU the physically based material costs nothing noticeable.
      const material = this.software
        ? new THREE.MeshLambertMaterial({ color: 0xffffff })
        : new THREE.MeshStandardMaterial({ color: 0xffffff, roughness: env ? 0.95 : 0.55, metalness: 0.05 });
      const mesh = new THREE.InstancedMesh(geo, material, list.length);
      mesh.instanceMatrix.setUsage(THREE.DynamicDrawUsage);
      mesh.userData.environment = env;
      mesh.castShadow = !env && this.shadows;
      mesh.receiveShadow = true;
      mesh.frustumCulled = false; // instances move; the mesh's bounding sphere would go stale
      list.forEach((b, index) => {
        mesh.setColorAt(index, env ? COLOR_ENVIRONMENT : COLOR_INERTIAL);
        _m.makeTranslation(0, 0, -1e4); // hidden until the first frame places it
        mesh.setMatrixAt(index, _m);
        this.bodies.set(b.body_id, { mesh, index, info: b, radius: geo.boundingSphere.radius, sleeping: false });
      });
      this.meshes.push(mesh);
      this.bodyGroup.add(mesh);
      if (this.software && this.batching && canBatch(mesh)) {
        // Drawn through a CPU batch (batch.js says why); the instanced mesh stays for picking.
        const batch = new Batch(mesh);
        mesh.visible = false;
        mesh.userData.drawn = batch.mesh;
        this.batches.push(batch);
        this.bodyGroup.add(batch.mesh);
      }
    }
    this.buildOverlays(meta.bodies.length);
    this.renderer.shadowMap.needsUpdate = true;
    this.invalidate();
  }

  buildOverlays(bodyCount) {
    for (const o of this.overlayGroup.children.slice()) {
      this.overlayGroup.remove(o);
      o.geometry.dispose();
      o.material.dispose();
    }
    const n = Math.max(1, bodyCount);
    this.contactPoints = new THREE.Points(lineBuffer(MAX_CONTACTS / 2, false),
      new THREE.PointsMaterial({ color: 0xff4060, size: 5, sizeAttenuation: false, depthTest: false }));
    this.contactNormals = new THREE.LineSegments(lineBuffer(MAX_CONTACTS, false),
      new THREE.LineBasicMaterial({ color: 0xff8090, depthTest: false }));
    this.velocityLines = new THREE.LineSegments(lineBuffer(n, false), new THREE.LineBasicMaterial({ color: 0x7dff9a }));
    // Axes start inside their body, so they are drawn over it (no depth test) to be seen at all.
    this.axesLines = new THREE.LineSegments(lineBuffer(3 * n, true), new THREE.LineBasicMaterial({ vertexColors: true, depthTest: false }));
    const axes = this.axesLines.geometry.getAttribute("color").array;
    for (let i = 0; i < 3 * n; i++) {
      const k = i % 3; // x red, y green, z blue, the usual convention
      for (const off of [0, 3]) {
        axes[i * 6 + off] = k === 0 ? 1 : 0.15;
        axes[i * 6 + off + 1] = k === 1 ? 1 : 0.15;
        axes[i * 6 + off + 2] = k === 2 ? 1 : 0.15;
      }
    }
    this.normalArrows = new THREE.LineSegments(lineBuffer(MAX_FORCE_ARROWS * ARROW_SEGMENTS, false),
      new THREE.LineBasicMaterial({ color: 0xff5fa2, depthTest: false }));
    this.frictionArrows = new THREE.LineSegments(lineBuffer(MAX_FORCE_ARROWS * ARROW_SEGMENTS, false),
      new THREE.LineBasicMaterial({ color: 0xffe14d, depthTest: false }));
    this.gravityArrows = new THREE.LineSegments(lineBuffer(n * ARROW_SEGMENTS, false),
      new THREE.LineBasicMaterial({ color: 0xb78cff, depthTest: false }));
    for (const o of [this.contactPoints, this.contactNormals, this.velocityLines, this.axesLines, this.normalArrows, this.frictionArrows, this.gravityArrows]) {
      o.frustumCulled = false;
      o.renderOrder = 10;
      this.overlayGroup.add(o);
    }
    this.applyOverlayVisibility();
  }

  setOverlay(name, on) {
    this.overlays[name] = on;
    this.applyOverlayVisibility();
    if (this.lastFrame) this.updateOverlays(this.lastFrame);
    this.invalidate();
  }

  applyOverlayVisibility() {
    this.contactPoints.visible = this.contactNormals.visible = this.overlays.contacts;
    this.velocityLines.visible = this.overlays.velocity;
    this.axesLines.visible = this.overlays.axes;
    this.normalArrows.visible = this.frictionArrows.visible = this.overlays.forces;
    this.gravityArrows.visible = this.overlays.gravity;
  }

  // Newtons per metre of arrow, and the timestep that turns the wire's impulses into forces.
  setForceScale(newtonsPerMetre, timestep) {
    this.forceScale = newtonsPerMetre;
    if (timestep > 0) this.timestep = timestep;
    if (this.lastFrame) this.updateOverlays(this.lastFrame);
    this.invalidate();
  }

  // Where a body is drawn (its instance matrix's translation), for the tests: the view must put it
  // where the frame on screen says.
  drawnPosition(bodyId) {
    const b = this.bodies.get(bodyId);
    if (!b) return null;
    b.mesh.getMatrixAt(b.index, _m);
    const p = new THREE.Vector3().setFromMatrixPosition(_m);
    return { x: p.x, y: p.y, z: p.z };
  }

  colorOf(b) {
    if (b.info.body_id === this.selected) return _c.copy(COLOR_SELECTED);
    _c.copy(b.info.is_environment ? COLOR_ENVIRONMENT : COLOR_INERTIAL);
    if (b.sleeping) _c.multiplyScalar(ASLEEP_DIM);
    return _c;
  }

  select(bodyId) {
    const prev = this.bodies.get(this.selected);
    this.selected = bodyId;
    for (const b of [prev, this.bodies.get(bodyId)]) {
      if (!b) continue;
      b.mesh.setColorAt(b.index, this.colorOf(b));
      b.mesh.instanceColor.needsUpdate = true;
    }
    if (this.lastFrame && this.overlays.forces) this.updateOverlays(this.lastFrame); // arrows act on the selected body
    this.invalidate();
  }

  // Places every body as in `frame` (a packed frame of frames.js, the latest one; called at most
  // once per animation frame).
  applyFrame(frame) {
    const prevTarget = this.follow ? this.bodyPosition(this.selected, _delta) : null;
    this.lastFrame = frame;
    const { n, ids, flags, pose } = frame;
    for (let i = 0; i < n; i++) {
      const b = this.bodies.get(ids[i]);
      if (!b) continue;
      // pose is px py pz qx qy qz qw: the quaternion in three.js's (x, y, z, w) order
      _q.fromArray(pose, 7 * i + 3);
      _m.compose(_p.fromArray(pose, 7 * i), _q, _one);
      b.mesh.setMatrixAt(b.index, _m);
      const sleeping = (flags[i] & SLEEPING) !== 0;
      if (sleeping !== b.sleeping) {
        b.sleeping = sleeping;
        b.mesh.setColorAt(b.index, this.colorOf(b));
        b.mesh.instanceColor.needsUpdate = true;
      }
    }
    for (const mesh of this.meshes) mesh.instanceMatrix.needsUpdate = true;
    if (this.shadows) this.renderer.shadowMap.needsUpdate = true;
    this.invalidate();
    this.updateOverlays(frame);
    if (this.frameOnNext) {
      this.frameOnNext = false;
      if (!this.follow) this.resetCamera();
    }
    if (prevTarget && this.bodyPosition(this.selected, _p)) {
      // Follow: move camera and target by the body's displacement, keeping the user's view angle.
      _p.sub(prevTarget);
      this.camera.position.add(_p);
      this.controls.target.add(_p);
    }
  }

  bodyPosition(bodyId, out) {
    const f = this.lastFrame;
    if (!f || bodyId < 0) return null;
    const i = f.indexOf(bodyId);
    return i < 0 ? null : out.fromArray(f.pose, 7 * i);
  }

  // The wire form of a body's state in the last frame, or null.
  stateOf(bodyId) {
    return this.lastFrame?.stateOf(bodyId) ?? null;
  }

  setFollow(on) {
    this.follow = on;
    if (on && this.bodyPosition(this.selected, _p)) {
      _delta.copy(_p).sub(this.controls.target);
      this.controls.target.add(_delta);
      this.camera.position.add(_delta);
    }
    this.invalidate();
  }

  updateOverlays(frame) {
    if (this.overlays.contacts) {
      const pts = this.contactPoints.geometry.getAttribute("position");
      const nrm = this.contactNormals.geometry.getAttribute("position");
      const { ncol, colStart, rec } = frame;
      // Normal length ∝ normal impulse, scaled per frame so the largest is 1 m; without the
      // (ext) impulses every normal is drawn 0.3 m long.
      const total = colStart[ncol];
      let maxImpulse = 0;
      for (let k = 0; k < total; k++) if (rec[12 * k + 9] > maxImpulse) maxImpulse = rec[12 * k + 9];
      const max = MAX_CONTACTS / 2;
      let n = 0;
      for (let k = 0; k < total && n < max; k++) {
        const o = 12 * k;
        const x = rec[o + 2], y = rec[o + 3], z = rec[o + 4], nx = rec[o + 5], ny = rec[o + 6], nz = rec[o + 7];
        const len = maxImpulse > 0 ? Math.max(0.02, (rec[o + 9] || 0) / maxImpulse) : 0.3;
        pts.setXYZ(n, x, y, z);
        nrm.setXYZ(2 * n, x, y, z);
        nrm.setXYZ(2 * n + 1, x + nx * len, y + ny * len, z + nz * len);
        n++;
      }
      this.skippedContacts = total - n;
      this.contactPoints.geometry.setDrawRange(0, n);
      this.contactNormals.geometry.setDrawRange(0, 2 * n);
      uploadUsed(pts, n);
      uploadUsed(nrm, 2 * n);
    }
    if (this.overlays.forces) this.updateForceArrows(frame);
    if (this.overlays.gravity) this.updateGravityArrows(frame);
    if (this.overlays.velocity || this.overlays.axes) {
      const vel = this.velocityLines.geometry.getAttribute("position");
      const ax = this.axesLines.geometry.getAttribute("position");
      const max = vel.count / 2;
      const { n, ids, flags, pose } = frame;
      const v = frame.velocity;
      let nv = 0, na = 0;
      for (let i = 0; i < n && nv < max; i++) {
        if (flags[i] & ENV) continue;
        const px = pose[7 * i], py = pose[7 * i + 1], pz = pose[7 * i + 2];
        if (this.overlays.velocity) {
          vel.setXYZ(2 * nv, px, py, pz);
          vel.setXYZ(2 * nv + 1, px + v[6 * i] * VELOCITY_SECONDS, py + v[6 * i + 1] * VELOCITY_SECONDS, pz + v[6 * i + 2] * VELOCITY_SECONDS);
        }
        if (this.overlays.axes) {
          const b = this.bodies.get(ids[i]);
          const len = b ? b.radius * 1.1 : 0.5;
          _q.fromArray(pose, 7 * i + 3);
          for (let k = 0; k < 3; k++) {
            _v.set(k === 0 ? len : 0, k === 1 ? len : 0, k === 2 ? len : 0).applyQuaternion(_q);
            ax.setXYZ(2 * na, px, py, pz);
            ax.setXYZ(2 * na + 1, px + _v.x, py + _v.y, pz + _v.z);
            na++;
          }
        }
        nv++;
      }
      this.velocityLines.geometry.setDrawRange(0, this.overlays.velocity ? 2 * nv : 0);
      this.axesLines.geometry.setDrawRange(0, 2 * na);
      if (this.overlays.velocity) uploadUsed(vel, 2 * nv);
      uploadUsed(ax, 2 * na);
    }
  }

  // Normal and friction force of each contact point, at the point: the force on body B of the pair
  // (the wire's convention), or on the selected body when it is A (negated), length force/scale.
  updateForceArrows(frame) {
    const nrm = this.normalArrows.geometry.getAttribute("position");
    const fri = this.frictionArrows.geometry.getAttribute("position");
    const { ncol, colStart, colBodies, rec, friction } = frame;
    const perMetre = 1 / (this.forceScale * this.timestep); // metres of arrow per N·s
    let nn = 0, nf = 0;
    for (let j = 0; j < ncol; j++) {
      const sign = colBodies[2 * j] === this.selected ? -1 : 1;
      for (let k = colStart[j]; k < colStart[j + 1]; k++) {
        const o = 12 * k;
        const x = rec[o + 2], y = rec[o + 3], z = rec[o + 4], nx = rec[o + 5], ny = rec[o + 6], nz = rec[o + 7];
        const len = (rec[o + 9] || 0) * perMetre * sign;
        if (nn < MAX_FORCE_ARROWS && Math.abs(len) > 1e-4) writeArrow(nrm, nn++, x, y, z, nx * len, ny * len, nz * len);
        if (!friction || Number.isNaN(friction[3 * k]) || nf >= MAX_FORCE_ARROWS) continue;
        const fx = friction[3 * k] * perMetre * sign, fy = friction[3 * k + 1] * perMetre * sign, fz = friction[3 * k + 2] * perMetre * sign;
        if (Math.hypot(fx, fy, fz) >= MIN_FRICTION_ARROW_M) writeArrow(fri, nf++, x, y, z, fx, fy, fz);
      }
    }
    this.normalArrows.geometry.setDrawRange(0, nn * ARROW_SEGMENTS * 2);
    this.frictionArrows.geometry.setDrawRange(0, nf * ARROW_SEGMENTS * 2);
    uploadUsed(nrm, nn * ARROW_SEGMENTS * 2);
    uploadUsed(fri, nf * ARROW_SEGMENTS * 2);
    this.arrowCounts.normal = nn;
    this.arrowCounts.friction = nf;
  }

  // Weight m·g of each dynamic body, down from its origin.
  updateGravityArrows(frame) {
    const attr = this.gravityArrows.geometry.getAttribute("position");
    const max = attr.count / (2 * ARROW_SEGMENTS);
    const { n, ids, flags, pose } = frame;
    let na = 0;
    for (let i = 0; i < n && na < max; i++) {
      if (flags[i] & ENV) continue;
      const mass = this.bodies.get(ids[i])?.info.mass ?? 0;
      writeArrow(attr, na++, pose[7 * i], pose[7 * i + 1], pose[7 * i + 2], 0, 0, (-mass * 9.81) / this.forceScale);
    }
    this.gravityArrows.geometry.setDrawRange(0, na * ARROW_SEGMENTS * 2);
    uploadUsed(attr, na * ARROW_SEGMENTS * 2);
    this.arrowCounts.gravity = na;
  }

  // What is drawn: bodies, instanced meshes, instances, CPU-batched meshes, and the draw calls
  // and triangles of the last draw.
  stats() {
    const info = this.renderer.info.render;
    return {
      bodies: this.bodies.size,
      meshes: this.meshes.length,
      instances: this.meshes.reduce((n, m) => n + m.count, 0),
      batched: this.batches.length,
      calls: info.calls,
      triangles: info.triangles,
    };
  }

  // The body under a canvas pixel, or -1.
  pick(clientX, clientY) {
    const r = this.canvas.getBoundingClientRect();
    const ndc = new THREE.Vector2(((clientX - r.left) / r.width) * 2 - 1, -((clientY - r.top) / r.height) * 2 + 1);
    const ray = new THREE.Raycaster();
    ray.setFromCamera(ndc, this.camera);
    for (const mesh of this.meshes) mesh.computeBoundingSphere(); // instances moved since the last pick
    const hit = ray.intersectObjects(this.meshes, false)[0];
    if (!hit) return -1;
    for (const [id, b] of this.bodies) if (b.mesh === hit.object && b.index === hit.instanceId) return id;
    return -1;
  }

  // Draws if anything changed since the last draw; returns whether it drew.
  render() {
    this.controls.update();
    if (!this.dirty) return false;
    this.dirty = false;
    for (const batch of this.batches) batch.sync();
    this.renderer.render(this.scene, this.camera);
    return true;
  }
}
