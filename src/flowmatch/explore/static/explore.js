// flowmatch explore: the page. Every setting lives in the URL's query string; the page sends that
// string to the server over one WebSocket whenever it changes, and draws the frames (binary:
// see flowmatch/explore/protocol.py) the server sends back. The server checks every setting and
// answers bad ones with a message, shown in #message.
//
// For tests and curious people: #step and #w2 hold the current training step and W2, and
// window.explore keeps counts (frames drawn, their times, the W2 history).

import { COLORS, World, lossCurve, pointsAt } from "./plot.js";

const $ = (id) => document.getElementById(id);
const form = $("controls");
const params = new URLSearchParams(location.search);
const SOLVERS = ["euler", "midpoint", "heun", "rk4"];
const KINDS = ["independent", "ot", "sinkhorn"];
const POINT_STEP = 0.04; // as flowmatch/explore/settings.py: drawn points are int8 multiples of it
let spec = null; // every setting's kind, choices or range, and default (GET /api/settings)
let ws = null;
let latest = null; // the header of the newest frame not yet drawn
let unacked = 0; // frames received since the last acknowledgement
let errorShown = false;
// frame: the newest drawn { header, arrays }; arrays holds every array of the current flow, as the
// server sends an array only when it has changed
const state = { frame: null, arrays: {}, losses: [], flow: -1, drawSide: null, strokes: { data: [], source: [] }, stroke: null };
window.explore = { frames: 0, frameTimes: [], w2: [], lastHeader: null, errors: [], connected: false };

// -- the query string --------------------------------------------------------------------
function setParam(key, value) {
  const d = spec[key] ? String(spec[key].default) : null;
  if (value === null || value === undefined || String(value) === d) params.delete(key);
  else params.set(key, String(value));
}

function commit() {
  const q = params.toString();
  history.replaceState(null, "", q ? "?" + q : location.pathname);
  hideError();
  sendQuery();
}

let sendTimer = null;
function sendQuery() {
  // coalesce a slider's bursts of input events into ~20 messages a second
  if (sendTimer) return;
  sendTimer = setTimeout(() => {
    sendTimer = null;
    send({ type: "query", query: params.toString() });
  }, 50);
}

function send(message) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(message));
}

// -- messages ----------------------------------------------------------------------------
function showMessage(text, kind) {
  const m = $("message");
  m.textContent = text;
  m.className = kind === "error" ? "" : "info";
  m.hidden = !text;
  errorShown = kind === "error" && !!text;
}
function hideError() {
  if (errorShown) showMessage("", "info");
}

// -- controls ----------------------------------------------------------------------------
function buildControls() {
  for (const el of form.elements) {
    const key = el.name;
    if (!key || !spec[key]) continue;
    const s = spec[key];
    if (el.tagName === "SELECT") {
      el.innerHTML = "";
      for (const c of s.choices) el.add(new Option(c, c));
    } else if (s.kind === "int" || s.kind === "float") {
      el.min = s.min;
      el.max = s.max;
    }
    const given = params.get(key);
    el.value = given !== null ? given : s.default;
    if (el.tagName === "SELECT" && el.value !== (given ?? String(s.default))) el.value = s.default; // an unknown name: the server says so
    el.addEventListener(el.type === "range" ? "input" : "change", () => {
      setParam(key, el.value);
      showOutputs();
      if (key === "t" || key === "steps" || key === "n") drawAll(); // the page redraws what it can at once
      commit();
    });
  }
  const g = Number(params.get("guidance") || 0);
  $("guide").checked = g > 0;
  $("guide").addEventListener("change", () => {
    const slider = form.elements.guidance;
    if ($("guide").checked && Number(slider.value) === 0) slider.value = 1;
    setParam("guidance", $("guide").checked ? slider.value : 0);
    showOutputs();
    commit();
  });
  form.elements.guidance.addEventListener("input", () => { $("guide").checked = Number(form.elements.guidance.value) > 0; });
  $("train").addEventListener("click", () => { setParam("run", 1); commit(); });
  $("stop").addEventListener("click", () => { setParam("run", 0); commit(); });
  $("reset").addEventListener("click", () => { hideError(); send({ type: "reset" }); });
  $("copy-link").addEventListener("click", async () => {
    try { await navigator.clipboard.writeText(location.href); showMessage("link copied: it opens this view", "info"); }
    catch { showMessage(location.href, "info"); }
  });
  for (const side of ["data", "source"]) $(`draw-${side}`).addEventListener("click", () => toggleDraw(side));
  $("undo").addEventListener("click", () => { const side = drawTarget(); state.strokes[side].pop(); commitDrawing(side); });
  $("clear").addEventListener("click", () => { const side = drawTarget(); state.strokes[side] = []; commitDrawing(side); });
  buildPanels();
  showOutputs();
}

function showOutputs() {
  $("steps-out").textContent = form.elements.steps.value;
  $("t-out").textContent = Number(form.elements.t.value).toFixed(2);
  const g = Number(form.elements.guidance.value);
  $("guidance-out").textContent = $("guide").checked && g > 0 ? g.toFixed(1) : "off";
  $("cmp-steps").textContent = form.elements.steps.value;
}

// -- drawing a distribution with the mouse ------------------------------------------------
function drawTarget() { return state.drawSide || (params.get("source") === "drawn" && params.get("data") !== "drawn" ? "source" : "data"); }

function toggleDraw(side) {
  state.drawSide = state.drawSide === side ? null : side;
  for (const s of ["data", "source"]) $(`draw-${s}`).classList.toggle("on", state.drawSide === s);
  $("main").classList.toggle("drawing", !!state.drawSide);
  $("draw-hint").textContent = state.drawSide ? `click and drag on the picture to spray ${state.drawSide === "data" ? "target" : "source"} points` : "press target or source, then click and drag on the picture";
  drawAll();
}

function drawnPoints(side) { return state.strokes[side].flat(); }

function encodePoints(pts) {
  const bytes = new Int8Array(pts.length * 2);
  pts.forEach(([x, y], i) => {
    bytes[2 * i] = Math.max(-128, Math.min(127, Math.round(x / POINT_STEP)));
    bytes[2 * i + 1] = Math.max(-128, Math.min(127, Math.round(y / POINT_STEP)));
  });
  let s = "";
  for (const b of new Uint8Array(bytes.buffer)) s += String.fromCharCode(b);
  return btoa(s).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function decodePoints(text) {
  try {
    const s = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    const b = new Int8Array(s.length);
    for (let i = 0; i < s.length; i++) b[i] = (s.charCodeAt(i) << 24) >> 24;
    const pts = [];
    for (let i = 0; i + 1 < b.length; i += 2) pts.push([b[i] * POINT_STEP, b[i + 1] * POINT_STEP]);
    return pts;
  } catch { return []; }
}

function commitDrawing(side) {
  const pts = drawnPoints(side);
  setParam(side, "drawn");
  setParam(`${side}_pts`, pts.length ? encodePoints(pts) : null);
  form.elements[side].value = "drawn";
  $("drawn-count").textContent = pts.length;
  drawAll();
  commit();
}

function spray(ev) {
  const canvas = $("main"), r = canvas.getBoundingClientRect();
  const w = new World(canvas, state.frame ? state.frame.header.extent : 4.5);
  const [x, y] = w.toWorld((ev.clientX - r.left) * (canvas.width / r.width), (ev.clientY - r.top) * (canvas.height / r.height));
  for (let k = 0; k < 3; k++) {
    const a = Math.random() * 2 * Math.PI, d = 0.15 * Math.sqrt(-2 * Math.log(1 - Math.random()));
    state.stroke.push([Math.max(-5, Math.min(5, x + d * Math.cos(a))), Math.max(-5, Math.min(5, y + d * Math.sin(a)))]);
  }
  $("drawn-count").textContent = drawnPoints(state.drawSide).length + state.stroke.length;
  drawAll();
}

function setupMouse() {
  const canvas = $("main");
  canvas.addEventListener("mousedown", (ev) => {
    if (!state.drawSide) return;
    state.stroke = [];
    state.strokes[state.drawSide].push(state.stroke);
    spray(ev);
  });
  canvas.addEventListener("mousemove", (ev) => { if (state.stroke && ev.buttons & 1) spray(ev); });
  const finish = () => {
    if (!state.stroke) return;
    state.stroke = null;
    commitDrawing(state.drawSide);
  };
  canvas.addEventListener("mouseup", finish);
  canvas.addEventListener("mouseleave", finish);
}

// -- frames ------------------------------------------------------------------------------
function decodeFrame(buf) {
  const n = new DataView(buf).getUint32(0, true);
  const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buf, 4, n)));
  const start = 4 + n + ((4 - ((4 + n) % 4)) % 4);
  const arrays = {};
  for (const [name, [offset, shape]] of Object.entries(header.arrays)) {
    const count = shape.reduce((a, b) => a * b, 1);
    arrays[name] = new Float32Array(buf, start + offset, count);
    arrays[name].shape = shape;
  }
  return { header, arrays };
}

// every frame is read as it comes (its arrays and its loss must not be missed), and the newest
// is drawn at the next animation frame, then acknowledged: a hidden tab draws nothing, so the
// server stops sending it frames
function receive(buf) {
  const f = decodeFrame(buf);
  const h = f.header;
  if (h.flow !== state.flow) { state.flow = h.flow; state.losses = []; state.arrays = {}; }
  Object.assign(state.arrays, f.arrays);
  if (h.loss) state.losses.push(h.loss);
  if (state.losses.length > 4000) state.losses = state.losses.filter((_, i) => i % 2 === 0);
  latest = h;
  unacked += 1;
  requestAnimationFrame(onFrame);
}

function onFrame() {
  if (!latest) return;
  const h = latest;
  latest = null;
  try {
    state.frame = { header: h, arrays: state.arrays };
    const now = performance.now(), ex = window.explore;
    ex.frames += 1;
    ex.frameTimes.push(now);
    if (ex.frameTimes.length > 2000) ex.frameTimes.splice(0, 1000);
    ex.lastHeader = h;
    if (h.w2 !== null) ex.w2.push([now, h.step, h.w2]);
    $("step").textContent = h.step;
    $("w2").textContent = h.w2 === null ? "–" : h.w2.toFixed(3);
    $("nfe").textContent = h.nfe;
    if (h.loss && h.loss[1] !== null) $("loss").textContent = h.loss[1].toFixed(4);
    const recent = ex.frameTimes.filter((t) => now - t < 2000);
    $("fps").textContent = recent.length > 1 ? ((recent.length - 1) / ((now - recent[0]) / 1000)).toFixed(1) : "–";
    $("state").textContent = h.running ? "training" : "stopped";
    $("server-points").textContent = Object.values(h.status.points || {}).reduce((a, b) => a + b, 0);
    if (h.status.message && !errorShown) showMessage(h.status.message, "info");
    else if (!h.status.message && !errorShown) showMessage("", "info");
    drawAll();
  } finally {
    send({ type: "ack", n: unacked });
    unacked = 0;
  }
}

function drawAll() {
  drawMain();
  if (!state.frame) return;
  lossCurve($("loss-plot"), state.losses);
  drawCompare();
  drawView();
}

function currentT() { return Number(form.elements.t.value); }

function drawMain() {
  const canvas = $("main");
  const f = state.frame;
  const w = new World(canvas, f ? f.header.extent : 4.5);
  w.clear();
  if (f) {
    const A = f.arrays, h = f.header;
    if (h.view === "density" && A.density && !h.view_info.error) w.heat(A.density, h.view_info.grid);
    w.points(A.ref, COLORS.data, 2.5);
    w.arrows(A.field, h.field_grid, COLORS.arrow);
    const [T, N] = A.traj.shape;
    const at = pointsAt(A.traj, A.times, T, N, currentT());
    w.paths(A.traj, T, N, 150, at.index, COLORS.traj);
    w.points(at.xy, COLORS.particle, 2.5);
  }
  for (const side of ["data", "source"]) {
    const pts = drawnPoints(side);
    if (!pts.length || (!state.drawSide && params.get(side) !== "drawn")) continue;
    w.points(new Float32Array(pts.flat()), side === "data" ? COLORS.drawn : COLORS.source, side === state.drawSide ? 3 : 2);
  }
}

function panel(container, id, caption) {
  const div = document.createElement("div");
  div.className = "panel";
  div.innerHTML = `<canvas width="140" height="140" id="${id}"></canvas><div class="cap" id="${id}-cap">${caption}</div>`;
  container.appendChild(div);
}

function buildPanels() {
  for (const s of SOLVERS) panel($("compare"), `cmp-${s}`, `${s}`);
}

function drawCompare() {
  const h = state.frame.header, A = state.frame.arrays;
  for (const s of SOLVERS) {
    const c = h.compare[s];
    const w = new World($(`cmp-${s}`), h.extent);
    w.clear();
    w.points(A.ref, COLORS.data, 1.5);
    if (!c) continue;
    w.points(A[`cmp_${s}`], COLORS.particle, 2);
    $(`cmp-${s}-cap`).innerHTML = `${s} · NFE ${c.nfe}<br>W2 <b id="w2-${s}">${c.w2 === null ? "–" : c.w2.toFixed(3)}</b>${c.steps === h.steps ? "" : " (old)"}`;
  }
}

const VIEW_TITLES = {
  paths: "Conditional paths (one batch) and the learned marginal flow",
  coupling: "Coupling lines within one batch",
  density: "Log-density at t",
  guidance: "Density guidance off and on",
};

function drawView() {
  const h = state.frame.header, A = state.frame.arrays, info = h.view_info || {};
  const box = $("view"), note = $("view-note");
  const want = { paths: ["cond", "marg"], coupling: KINDS, guidance: ["plain", "guided"] }[h.view] || [];
  if (box.dataset.view !== h.view) {
    box.innerHTML = "";
    box.dataset.view = h.view;
    for (const name of want) panel(box, `view-${name}`, name);
  }
  $("view-title").hidden = h.view === "none";
  $("view-title").textContent = VIEW_TITLES[h.view] || "";
  note.textContent = info.error || "";
  const t = currentT();
  if (h.view === "paths") {
    for (const [name, label] of [["cond", "conditional: x_t = α_t x1 + σ_t x0"], ["marg", "marginal: the learned ODE"]]) {
      const w = new World($(`view-${name}`), h.extent), [T, N] = A[name].shape;
      const times = Float32Array.from({ length: T }, (_, k) => k / (T - 1));
      const at = pointsAt(A[name], times, T, N, t);
      w.clear();
      w.points(A.ref, COLORS.data, 1.5);
      w.paths(A[name], T, N, N, T - 1, "rgba(74,144,217,0.6)");
      w.points(at.xy, COLORS.particle, 3);
      $(`view-${name}-cap`).textContent = label;
    }
    if (!info.error) note.textContent = "Left: each pair's own path, the training target. Right: where the learned velocity field carries the same source points. Dots: positions at t.";
  } else if (h.view === "coupling") {
    for (const kind of KINDS) {
      const w = new World($(`view-${kind}`), h.extent);
      w.clear();
      w.segments(A.pairs_x0, A[`pairs_${kind}`], "rgba(29,36,48,0.45)");
      w.points(A.pairs_x0, COLORS.source, 3);
      w.points(A[`pairs_${kind}`], COLORS.particle, 3);
      $(`view-${kind}-cap`).innerHTML = `${kind}: <b id="crossings-${kind}">${info.crossings[kind]}</b> crossings`;
    }
    if (!info.error) note.textContent = "Source points (green) joined to their data partners (orange) in one batch of 48. Independent pairs cross everywhere; exact OT pairs (least total squared length) rarely cross, and never meet at the same time t; Sinkhorn draws partners from the entropic plan.";
  } else if (h.view === "density" && !info.error) {
    note.textContent = `log p_t(x) at t = ${h.t.toFixed(2)} shaded on the main picture (darker is likelier), by flowmatch.likelihood: exact divergence, integrated back to the source.`;
  } else if (h.view === "guidance") {
    const ref = A.ref;
    for (const [name, label, key] of [["plain", "no guidance", "w2_plain"], ["guided", `density guidance λ = ${info.scale}`, "w2_guided"]]) {
      const w = new World($(`view-${name}`), h.extent);
      w.clear();
      w.points(ref, COLORS.data, 1.5);
      w.points(A[name], COLORS.particle, 2);
      $(`view-${name}-cap`).innerHTML = `${label}<br>W2 <b id="w2-${name}">${info[key] === null ? "–" : info[key].toFixed(3)}</b>`;
    }
    if (!info.error) note.textContent = "Guidance adds λ ∇x(−div v) to the velocity (flowmatch.guidance): samples move toward where the log-density grows along the flow, so they gather on the modes.";
  }
}

// -- the connection ------------------------------------------------------------------------
function connect() {
  ws = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
  ws.binaryType = "arraybuffer";
  ws.onopen = () => {
    window.explore.connected = true;
    $("state").textContent = "connected";
    send({ type: "query", query: params.toString() });
  };
  ws.onmessage = (ev) => {
    if (typeof ev.data !== "string") {
      receive(ev.data);
      return;
    }
    const m = JSON.parse(ev.data);
    if (m.type === "error") {
      window.explore.errors.push(m.message);
      showMessage(m.message, "error");
    } else if (m.type === "status") {
      if (m.message) showMessage(m.message, "info");
      if (m.idle) $("state").textContent = "idle";
    }
  };
  ws.onclose = () => {
    window.explore.connected = false;
    $("state").textContent = "disconnected";
    showMessage("disconnected from the server (stopped, or the connection broke): reload the page to reconnect", "error");
  };
}

async function start() {
  spec = await (await fetch("/api/settings")).json();
  for (const side of ["data", "source"]) {
    const text = params.get(`${side}_pts`);
    if (text) state.strokes[side] = [decodePoints(text)];
  }
  $("drawn-count").textContent = drawnPoints("data").length + drawnPoints("source").length;
  buildControls();
  setupMouse();
  drawAll();
  connect();
}

start();
