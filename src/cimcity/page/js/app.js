// cimcity interactive 3D page: three.js viewer of the scene's GLB models.
//
// The Python side (cimcity.page.to_html) writes one HTML file holding this
// bundle, the models (GLB, base64) and a JSON config: texts in the page's
// language, sun directions of the day (computed with cimcity.sun.position),
// the legend and the local origin of the models. No network access at all.
//
// Rebuild: cd src/cimcity/page/js && npm ci && npm run build  (writes ../_bundle.js)

import * as THREE from "three";
import { OrbitControls } from "three/examples/jsm/controls/OrbitControls.js";
import { GLTFLoader } from "three/examples/jsm/loaders/GLTFLoader.js";

const config = JSON.parse(document.getElementById("cimcity-config").textContent);
const T = config.text;
const numberFormat = new Intl.NumberFormat(config.lang, { maximumFractionDigits: 2 });

// ---------------------------------------------------------------- renderer
const canvas = document.getElementById("cimcity-canvas");
const renderer = new THREE.WebGLRenderer({ canvas, antialias: true, preserveDrawingBuffer: true });
renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
renderer.shadowMap.enabled = true;
renderer.shadowMap.type = THREE.PCFSoftShadowMap;
renderer.outputColorSpace = THREE.SRGBColorSpace;

const scene = new THREE.Scene();
scene.background = new THREE.Color(0xdfe9f3);
const camera = new THREE.PerspectiveCamera(40, 1, 1, 20000);
const controls = new OrbitControls(camera, canvas);
controls.maxPolarAngle = Math.PI * 0.49; // never below the ground
controls.screenSpacePanning = false;

const hemi = new THREE.HemisphereLight(0xffffff, 0xb8b0a0, 1.0);
scene.add(hemi);
const sun = new THREE.DirectionalLight(0xfff4e0, 2.2);
sun.castShadow = true;
sun.shadow.mapSize.set(4096, 4096);
sun.shadow.bias = -0.0015;
sun.shadow.normalBias = 0.35;
scene.add(sun);
scene.add(sun.target);

// ---------------------------------------------------------------- models
const models = {}; // "before" / "after" -> THREE.Group
const groups = { before: {}, after: {} }; // layer name -> Object3D
const pickable = [];
const state = { view: config.view, layers: {}, analysis: true, step: config.sun.default_index, selected: null };

function base64ToArrayBuffer(text) {
  const bin = atob(text);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out.buffer;
}

function parseGLB(text) {
  return new Promise((resolve, reject) => {
    new GLTFLoader().parse(base64ToArrayBuffer(text), "", resolve, reject);
  });
}

const PLAIN = { building: new THREE.Color(0xe8e2d6), project: new THREE.Color(0xf08c1e) };

function prepare(root, which) {
  root.traverse((obj) => {
    const layer = obj.userData && obj.userData.layer;
    if (layer && !groups[which][layer]) groups[which][layer] = obj;
    if (obj.name === "buildings" || obj.name === "project") groups[which][obj.name] = obj;
    if (!obj.isMesh && !obj.isLine && !obj.isLineSegments) return;
    const hasColor = !!obj.geometry.attributes.color;
    if (obj.isMesh) {
      let role = null;
      for (let o = obj; o; o = o.parent) if (o.userData && o.userData.id) { role = o.userData.role; obj.userData.building = o.userData; break; }
      const m = new THREE.MeshLambertMaterial({ vertexColors: hasColor, side: THREE.DoubleSide });
      obj.material = m;
      obj.receiveShadow = true;
      obj.castShadow = !(obj.userData.layer || "").match(/terrain|ground|water|flood|roads|green/) && layer !== "terrain";
      if (role) {
        obj.castShadow = true;
        obj.userData.plain = role === "project" ? PLAIN.project : PLAIN.building;
        pickable.push(obj);
      }
    } else {
      obj.material = new THREE.LineBasicMaterial({ color: 0x505050, transparent: true, opacity: 0.7 });
    }
  });
  // the surfaces of a layer carry its name one level down in the GLB
  for (const name of ["terrain", "ground", "water", "flood", "roads", "green", "parcels", "trees"]) {
    const node = root.getObjectByName(name);
    if (node) {
      groups[which][name] = node;
      node.traverse((o) => {
        if (o.isMesh) o.castShadow = name === "trees";
      });
    }
  }
}

// ---------------------------------------------------------------- the sun
const toThree = (v) => new THREE.Vector3(v[0], v[2], -v[1]); // (E, N, U) -> glTF (x, y, z)
let sceneBox = new THREE.Box3();

function setStep(i) {
  const steps = config.sun.steps;
  if (!steps.length) return;
  state.step = Math.max(0, Math.min(steps.length - 1, i | 0));
  const s = steps[state.step];
  const dir = toThree(s.dir).normalize();
  const centre = sceneBox.getCenter(new THREE.Vector3());
  const radius = sceneBox.getSize(new THREE.Vector3()).length() / 2;
  sun.position.copy(centre).addScaledVector(dir, radius * 2);
  sun.target.position.copy(centre);
  const cam = sun.shadow.camera;
  cam.left = -radius; cam.right = radius; cam.top = radius; cam.bottom = -radius;
  cam.near = radius * 0.5; cam.far = radius * 3.5;
  cam.updateProjectionMatrix();
  sun.intensity = 1.8 + 1.4 * Math.min(1, Math.max(0, s.elevation / 30));
  slider.value = String(state.step);
  clock.textContent = s.label;
  sunInfo.textContent = T.sun_at.replace("{elevation}", numberFormat.format(Math.round(s.elevation))).replace("{azimuth}", numberFormat.format(Math.round(s.azimuth)));
  render();
}

// ---------------------------------------------------------------- interface
const $ = (id) => document.getElementById(id);
const slider = $("cimcity-time");
const clock = $("cimcity-clock");
const sunInfo = $("cimcity-sun");
const info = $("cimcity-info");

function buildControls() {
  $("cimcity-title").textContent = config.title;
  $("cimcity-subtitle").textContent = config.subtitle;
  $("cimcity-hint").textContent = T.hint;
  $("cimcity-help").textContent = T.help;
  $("cimcity-view-title").textContent = T.view;
  $("cimcity-layers-title").textContent = T.layers;
  $("cimcity-time-title").textContent = config.sun.title;
  const views = $("cimcity-views");
  for (const v of ["before", "after"]) {
    const b = document.createElement("button");
    b.id = "cimcity-view-" + v;
    b.textContent = T[v];
    b.disabled = v === "after" && !config.models.after;
    if (b.disabled) b.title = T.no_project;
    b.onclick = () => setView(v);
    views.appendChild(b);
  }
  const list = $("cimcity-layers");
  for (const item of config.layers) {
    const label = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.id = "cimcity-layer-" + item.key;
    box.checked = item.on;
    state.layers[item.key] = item.on;
    box.onchange = () => setLayer(item.key, box.checked);
    label.appendChild(box);
    label.appendChild(document.createTextNode(" " + item.label));
    list.appendChild(label);
  }
  slider.min = "0";
  slider.max = String(Math.max(0, config.sun.steps.length - 1));
  slider.oninput = () => setStep(+slider.value);
  const play = $("cimcity-play");
  play.textContent = "▶ " + T.play;
  let timer = null;
  play.onclick = () => {
    if (timer) { clearInterval(timer); timer = null; play.textContent = "▶ " + T.play; return; }
    play.textContent = "❚❚ " + T.pause;
    timer = setInterval(() => setStep((state.step + 1) % config.sun.steps.length), 400);
  };
  $("cimcity-close").textContent = "×";
  $("cimcity-close").title = T.close;
  $("cimcity-close").onclick = () => select(null);
  buildLegend();
}

function buildLegend() {
  const legend = $("cimcity-legend");
  const L = config.legend;
  let html = "";
  if (L.scale) {
    const stops = L.scale.stops.join(",");
    html += `<div class="cc-legend-title">${L.scale.title}</div>`;
    html += `<div class="cc-bar" style="background:linear-gradient(to right,${stops})"></div>`;
    html += `<div class="cc-ticks"><span>${numberFormat.format(L.scale.lo)}</span><span>${numberFormat.format((L.scale.lo + L.scale.hi) / 2)}</span><span>${numberFormat.format(L.scale.hi)}</span></div>`;
    html += `<div class="cc-swatch"><i style="background:${L.scale.unknown_color}"></i>${L.scale.unknown_label}</div>`;
  }
  html += '<div class="cc-swatches">';
  for (const s of L.swatches) html += `<div class="cc-swatch" data-key="${s.key}"><i style="background:${s.color}"></i>${s.label}</div>`;
  html += "</div>";
  legend.innerHTML = html;
}

function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
}

function select(obj) {
  if (state.selected) state.selected.traverse((o) => o.isMesh && o.material.emissive.setHex(0x000000));
  state.selected = null;
  if (!obj) {
    info.hidden = true;
    $("cimcity-hint").hidden = false;
    render();
    return;
  }
  let node = obj;
  while (node && !(node.userData && node.userData.id)) node = node.parent;
  if (!node) return;
  state.selected = node;
  node.traverse((o) => o.isMesh && o.material.emissive.setHex(0x1c3f8c));
  const d = node.userData;
  let rows = "";
  for (const f of config.attributes) {
    if (!(f.key in d) && f.key !== "id") continue;
    let v = d[f.key];
    if (v === null || v === undefined || v === "") v = `<em>${T.unknown}</em>`;
    else if (typeof v === "number") v = escapeHtml(numberFormat.format(v));
    else v = escapeHtml(f.key === "role" ? T[v] || v : v);
    rows += `<tr><th>${escapeHtml(f.label)}</th><td data-key="${f.key}">${v}</td></tr>`;
  }
  $("cimcity-info-title").textContent = d.role === "project" ? T.project : T.building;
  $("cimcity-info-table").innerHTML = rows;
  info.hidden = false;
  $("cimcity-hint").hidden = true;
  render();
}

// ---------------------------------------------------------------- state
function applyVisibility() {
  const after = state.view === "after" && models.after;
  for (const which of ["before", "after"]) {
    const g = groups[which];
    const shown = which === "before" ? !after : after;
    if (g.buildings) g.buildings.visible = shown && state.layers.buildings !== false;
    if (g.project) g.project.visible = shown && state.layers.project !== false;
  }
  for (const name of ["trees", "water", "flood", "roads", "green", "parcels"]) {
    const g = groups.before[name];
    if (g) g.visible = state.layers[name] !== false;
  }
  for (const obj of pickable) {
    const m = obj.material;
    const useColors = state.analysis || !config.legend.scale;
    if (!!obj.geometry.attributes.color && m.vertexColors !== useColors) {
      m.vertexColors = useColors;
      m.color.set(useColors ? 0xffffff : obj.userData.plain);
      m.needsUpdate = true;
    }
  }
  for (const v of ["before", "after"]) {
    const b = $("cimcity-view-" + v);
    if (b) b.classList.toggle("active", (state.view === v) || (v === "before" && !after));
  }
  if (state.selected && !isShown(state.selected)) select(null);
  render();
}

function isShown(obj) {
  for (let o = obj; o; o = o.parent) if (!o.visible) return false;
  return true;
}

function setView(v) {
  state.view = v === "after" && models.after ? "after" : "before";
  applyVisibility();
}

function setLayer(key, on) {
  if (key === "analysis") state.analysis = on;
  else state.layers[key] = on;
  const box = $("cimcity-layer-" + key);
  if (box) box.checked = on;
  applyVisibility();
}

// ---------------------------------------------------------------- drawing
let frame = null;
function render() {
  if (frame !== null) return;
  frame = requestAnimationFrame(() => {
    frame = null;
    renderer.render(scene, camera);
    window.cimcity.frames += 1;
  });
}

function resize() {
  const w = canvas.clientWidth, h = canvas.clientHeight;
  renderer.setSize(w, h, false);
  camera.aspect = w / Math.max(h, 1);
  camera.updateProjectionMatrix();
  render();
}

function frameCamera() {
  const centre = sceneBox.getCenter(new THREE.Vector3());
  const size = sceneBox.getSize(new THREE.Vector3());
  const focus = groups.after.project || groups.before.project;
  const target = centre.clone();
  let span = Math.max(size.x, size.z);
  if (focus && config.focus_project) {
    const box = new THREE.Box3().setFromObject(focus);
    box.getCenter(target);
    span = Math.max(Math.min(Math.max(size.x, size.z) * 0.7, 400), box.getSize(new THREE.Vector3()).length() * 4);
  }
  target.y = sceneBox.min.y + (config.ground_offset || 0);
  const dist = span * 1.0;
  // from the south-west, 35 degrees above the horizon
  camera.position.set(target.x - dist * 0.45, target.y + dist * 0.62, target.z + dist * 0.75);
  controls.target.copy(target);
  camera.far = Math.max(size.length() * 6, 5000);
  camera.updateProjectionMatrix();
  controls.update();
}

// pointer: a click (not a drag) picks a building
let down = null;
canvas.addEventListener("pointerdown", (e) => { down = [e.clientX, e.clientY]; });
canvas.addEventListener("pointerup", (e) => {
  if (!down || Math.hypot(e.clientX - down[0], e.clientY - down[1]) > 5) return;
  const r = canvas.getBoundingClientRect();
  const ndc = new THREE.Vector2(((e.clientX - r.left) / r.width) * 2 - 1, -((e.clientY - r.top) / r.height) * 2 + 1);
  const ray = new THREE.Raycaster();
  ray.setFromCamera(ndc, camera);
  const hits = ray.intersectObjects(pickable.filter(isShown), false);
  select(hits.length ? hits[0].object : null);
});
controls.addEventListener("change", render);
window.addEventListener("resize", resize);

// hooks for tests and notebooks
window.cimcity = {
  ready: false,
  frames: 0,
  error: null,
  // screen position (CSS pixels from the canvas's top-left) of a point in the scene CRS [m]
  project(x, y, z) {
    const o = config.origin;
    const p = toThree([x - o[0], y - o[1], z - o[2]]).project(camera);
    const r = canvas.getBoundingClientRect();
    return { x: r.left + ((p.x + 1) / 2) * r.width, y: r.top + ((1 - p.y) / 2) * r.height, visible: Math.abs(p.z) <= 1 };
  },
  // look at a point from a point, both in the scene CRS [m]
  setCamera(eye, target) {
    const o = config.origin;
    camera.position.copy(toThree([eye[0] - o[0], eye[1] - o[1], eye[2] - o[2]]));
    controls.target.copy(toThree([target[0] - o[0], target[1] - o[1], target[2] - o[2]]));
    controls.update();
    render();
  },
  setView, setLayer, setStep,
  state: () => ({ view: state.view, step: state.step, layers: { ...state.layers }, analysis: state.analysis, selected: state.selected ? state.selected.userData.id : null }),
  render,
};

async function main() {
  buildControls();
  resize();
  models.before = await parseGLB(config.models.before);
  prepare(models.before.scene, "before");
  scene.add(models.before.scene);
  if (config.models.after) {
    models.after = await parseGLB(config.models.after);
    prepare(models.after.scene, "after");
    scene.add(models.after.scene);
  }
  sceneBox = new THREE.Box3().setFromObject(models.before.scene);
  // a wide plain around the model, so the city does not end in the sky
  const size = sceneBox.getSize(new THREE.Vector3());
  const apron = new THREE.Mesh(
    new THREE.CircleGeometry(Math.max(size.x, size.z) * 6, 64).rotateX(-Math.PI / 2),
    new THREE.MeshLambertMaterial({ color: 0xc9cfc0 })
  );
  apron.position.copy(sceneBox.getCenter(new THREE.Vector3()));
  apron.position.y = sceneBox.min.y - 0.3;
  apron.receiveShadow = true;
  apron.name = "apron";
  scene.add(apron);
  scene.fog = new THREE.Fog(0xdfe9f3, Math.max(size.x, size.z) * 2, Math.max(size.x, size.z) * 6);
  frameCamera();
  applyVisibility();
  setStep(state.step);
  resize();
  window.cimcity.ready = true;
}

main().catch((err) => {
  window.cimcity.error = String(err);
  $("cimcity-hint").textContent = String(err);
});
