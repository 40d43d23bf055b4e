// Scene editor: the object form, the object list, presets (scenarios) and the ground toggle, and
// the run settings. It turns what the user typed into the `configure` and `start` messages.
//
// Numbers: every numeric field takes any finite decimal the user types, 0 included, and goes out
// exactly as typed — an empty or non-numeric field is an inline error, never a silent default (a
// `value || default` would turn a deliberate 0 into the default). Range rules (mass in 0 … 1e9,
// above 0; restitution in 0 … 1 …) are the host's (sh_body_scalar_check in core/physics/body.c is
// their one source), so a value out of range is sent and the host's error line is shown.

import { DEG } from "./math.js";

const $ = (id) => document.getElementById(id);

// A finite decimal number, optionally signed, with an optional exponent; nothing else. Number()
// alone would also accept "", " ", "0x1f" and "Infinity".
const NUMBER_RE = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

export function parseNumber(text) {
  const s = String(text).trim();
  if (!NUMBER_RE.test(s)) return null;
  const v = Number(s);
  return Number.isFinite(v) ? v : null;
}

// Reads numeric inputs by id, marking each bad one inline. Returns { values, errors }.
function readNumbers(fields, errors) {
  const values = {};
  for (const [id, label, rule] of fields) {
    const el = $(id);
    const v = parseNumber(el.value);
    let problem = null;
    if (v === null) problem = `${label}: "${el.value}" is not a number`;
    else if (rule) problem = rule(v, label);
    el.setAttribute("aria-invalid", problem ? "true" : "false");
    if (problem) errors.push(problem);
    values[id] = v;
  }
  return values;
}

const integerAtLeast = (min) => (v, label) =>
  Number.isInteger(v) && v >= min ? null : `${label} must be a whole number ≥ ${min}`;

const OBJECT_FIELDS = [
  ["pos-x", "position x"], ["pos-y", "position y"], ["pos-z", "position z"],
  ["rot-pitch", "pitch"], ["rot-roll", "roll"], ["rot-yaw", "yaw"],
  ["mass", "mass"], ["restitution", "restitution"], ["friction", "friction"],
  ["vel-x", "velocity x"], ["vel-y", "velocity y"], ["vel-z", "velocity z"],
];

function fmt(v) {
  return Number.isInteger(v) ? String(v) : String(+v.toFixed(4));
}

export class Editor {
  constructor({ onChange = () => {} } = {}) {
    this.objects = []; // editor form of each object: degrees, plus the copy's grid offset baked in
    this.assets = [];
    this.scenarios = [];
    this.editing = -1;
    this.onChange = onChange;

    $("object-form").addEventListener("submit", (ev) => {
      ev.preventDefault();
      this.addFromForm();
    });
    $("save-object").addEventListener("click", () => this.saveEdit());
    $("cancel-edit").addEventListener("click", () => this.endEdit());
    $("clear-objects").addEventListener("click", () => {
      this.endEdit();
      this.objects = [];
      this.renderList();
    });
    $("object-list").addEventListener("click", (ev) => {
      const btn = ev.target.closest("button[data-action]");
      if (!btn) return;
      const index = Number(btn.closest("li").dataset.index);
      if (btn.dataset.action === "remove") this.remove(index);
      else this.beginEdit(index);
    });
    $("preset").addEventListener("change", () => this.renderPreset());
    $("timestep").addEventListener("change", () => {
      $("timestep-custom").disabled = $("timestep").value !== "custom";
    });
    // Clear a field's error mark as soon as it is edited.
    document.addEventListener("input", (ev) => {
      if (ev.target.matches?.("input[aria-invalid=true]")) ev.target.setAttribute("aria-invalid", "false");
    });
  }

  setAssets(list) {
    this.assets = list;
    const dl = $("asset-options");
    dl.replaceChildren(...list.map((a) => Object.assign(document.createElement("option"), { value: a.name })));
    $("asset-count").textContent = String(list.length);
  }

  setScenarios(list) {
    this.scenarios = list;
    const sel = $("preset");
    sel.replaceChildren(new Option("(custom objects)", ""), ...list.map((s) => new Option(s.name, s.name)));
    this.renderPreset();
  }

  renderPreset() {
    const s = this.scenarios.find((x) => x.name === $("preset").value);
    $("preset-description").textContent = s?.description ?? "";
    const box = $("preset-params");
    box.replaceChildren();
    for (const [name, def] of Object.entries(s?.params ?? {})) {
      const label = document.createElement("label");
      label.textContent = name;
      const input = document.createElement("input");
      input.id = `param-${name}`;
      input.dataset.testid = `param-${name}`;
      input.dataset.param = name;
      input.dataset.kind = typeof def === "number" ? "number" : typeof def === "boolean" ? "boolean"
        : typeof def === "string" ? "string" : "json";
      if (input.dataset.kind === "boolean") {
        input.type = "checkbox";
        input.checked = def;
      } else {
        input.value = input.dataset.kind === "json" ? JSON.stringify(def) : String(def);
        if (input.dataset.kind === "number") input.className = "num";
      }
      label.append(input);
      box.append(label);
    }
  }

  // --- objects ---------------------------------------------------------------------------------

  readForm(errors) {
    const asset = $("asset").value.trim();
    if (!asset) errors.push("asset: enter an asset name");
    $("asset").setAttribute("aria-invalid", asset ? "false" : "true");
    const n = readNumbers(OBJECT_FIELDS, errors);
    return {
      asset_name: asset,
      object_type: $("object-type").value,
      position: [n["pos-x"], n["pos-y"], n["pos-z"]],
      orientation_deg: [n["rot-pitch"], n["rot-roll"], n["rot-yaw"]],
      mass: n.mass,
      restitution: n.restitution,
      friction: n.friction,
      velocity: [n["vel-x"], n["vel-y"], n["vel-z"]],
    };
  }

  showErrors(boxId, errors) {
    $(boxId).textContent = errors.join("; ");
    return errors.length === 0;
  }

  addFromForm() {
    const errors = [];
    const obj = this.readForm(errors);
    const c = readNumbers([["copies", "copies", integerAtLeast(1)], ["spacing", "spacing"]], errors);
    if (!this.showErrors("form-errors", errors)) return false;
    // Copies go on a square grid in X/Y, then stack up in Z, so N copies never overlap.
    const side = Math.ceil(Math.sqrt(Math.min(c.copies, 100)));
    for (let i = 0; i < c.copies; i++) {
      const layer = Math.floor(i / (side * side));
      const k = i % (side * side);
      const [x, y, z] = obj.position;
      const dx = (k % side) * c.spacing, dy = Math.floor(k / side) * c.spacing, dz = layer * c.spacing;
      this.objects.push({ ...obj, position: [x + dx, y + dy, z + dz] });
    }
    this.renderList();
    return true;
  }

  beginEdit(index) {
    const o = this.objects[index];
    this.editing = index;
    $("asset").value = o.asset_name;
    $("object-type").value = o.object_type;
    const vals = [...o.position, ...o.orientation_deg, o.mass, o.restitution, o.friction, ...o.velocity];
    OBJECT_FIELDS.forEach(([id], i) => {
      $(id).value = fmt(vals[i]);
      $(id).setAttribute("aria-invalid", "false");
    });
    $("object-form-title").textContent = `Edit object ${index}`;
    $("add-object").hidden = true;
    $("save-object").hidden = false;
    $("cancel-edit").hidden = false;
    this.renderList();
  }

  saveEdit() {
    const errors = [];
    const obj = this.readForm(errors);
    if (!this.showErrors("form-errors", errors)) return false;
    this.objects[this.editing] = obj;
    this.endEdit();
    return true;
  }

  endEdit() {
    this.editing = -1;
    $("object-form-title").textContent = "Add object";
    $("add-object").hidden = false;
    $("save-object").hidden = true;
    $("cancel-edit").hidden = true;
    $("form-errors").textContent = "";
    this.renderList();
  }

  remove(index) {
    this.objects.splice(index, 1);
    if (this.editing === index) this.endEdit();
    else if (this.editing > index) this.editing--;
    this.renderList();
  }

  renderList() {
    const items = this.objects.map((o, i) => {
      const li = document.createElement("li");
      li.dataset.index = String(i);
      li.dataset.testid = "object-item";
      if (i === this.editing) li.className = "editing";
      const edit = Object.assign(document.createElement("button"), { type: "button", textContent: "edit" });
      edit.dataset.action = "edit";
      edit.dataset.testid = `edit-${i}`;
      edit.className = "small";
      const rm = Object.assign(document.createElement("button"), { type: "button", textContent: "✕" });
      rm.dataset.action = "remove";
      rm.dataset.testid = `remove-${i}`;
      rm.className = "small";
      rm.title = "remove";
      li.append(rm, edit, `${o.asset_name} · ${o.object_type === "inertial" ? "inertial" : "env"} @ (${o.position.map(fmt).join(", ")})`);
      return li;
    });
    $("object-list").replaceChildren(...items);
    $("object-count").textContent = String(this.objects.length);
    this.onChange();
  }

  // Replaces the object list with wire-format objects (radians), e.g. from a script or a test.
  setObjects(list) {
    this.endEdit();
    this.objects = list.map((o) => ({
      asset_name: o.asset_name,
      object_type: o.object_type ?? "inertial",
      position: [...o.position],
      orientation_deg: (o.orientation ?? [0, 0, 0]).map((r) => r / DEG),
      mass: o.mass ?? 10,
      restitution: o.restitution ?? 0.8,
      friction: o.friction ?? 0.5,
      velocity: [...(o.velocity ?? [0, 0, 0])],
    }));
    this.renderList();
  }

  // --- messages --------------------------------------------------------------------------------

  static wireObject(o) {
    const w = {
      asset_name: o.asset_name,
      position: o.position,
      orientation: o.orientation_deg.map((d) => d * DEG), // [pitch, roll, yaw] in radians
      object_type: o.object_type,
      restitution: o.restitution,
      friction: o.friction,
    };
    if (o.object_type === "inertial") w.mass = o.mass; // mass is for dynamic bodies only
    if (o.velocity.some((v) => v !== 0)) w.velocity = o.velocity;
    return w;
  }

  // Returns { message } or { errors }.
  buildConfigure() {
    const errors = [];
    const msg = { type: "configure", ground: $("ground").checked };
    const scenario = $("preset").value;
    if (scenario) {
      msg.scenario = scenario;
      msg.params = {};
      for (const input of $("preset-params").querySelectorAll("input[data-param]")) {
        const name = input.dataset.param;
        let v = null;
        if (input.dataset.kind === "boolean") v = input.checked;
        else if (input.dataset.kind === "string") v = input.value;
        else if (input.dataset.kind === "number") {
          v = parseNumber(input.value);
          if (v === null) errors.push(`${name}: "${input.value}" is not a number`);
        } else {
          try {
            v = JSON.parse(input.value);
          } catch {
            errors.push(`${name}: not valid JSON`);
          }
        }
        input.setAttribute("aria-invalid", errors.length && v === null ? "true" : "false");
        msg.params[name] = v;
      }
    }
    if (this.objects.length > 0 || !scenario) msg.objects = this.objects.map(Editor.wireObject);
    if (!scenario && this.objects.length === 0) errors.push("add at least one object or choose a preset");
    return errors.length ? { errors } : { message: msg };
  }

  buildStart(errors) {
    const custom = $("timestep").value === "custom";
    const fields = [["duration", "duration"], ["speed", "speed"]];
    // Any number goes out; the host answers a bad timestep (≤ 0, > 1000) with its own line.
    if (custom) fields.push(["timestep-custom", "timestep"]);
    const n = readNumbers(fields, errors);
    return {
      type: "start",
      timestep_ms: custom ? n["timestep-custom"] : Number($("timestep").value),
      duration_s: n.duration,
      speed: n.speed,
      contacts: $("contacts").checked,
      // SHF1 binary frames (docs/frames.md); `?encoding=json` in the page's address asks for the JSON
      // frames instead (for comparing the two).
      encoding: new URLSearchParams(globalThis.location?.search ?? "").get("encoding") === "json" ? "json" : "binary",
    };
  }

  stepFrames(errors) {
    // Like every field that goes on the wire, any number goes out as typed; the host judges it.
    return readNumbers([["step-frames", "step frames"]], errors)["step-frames"];
  }
}
