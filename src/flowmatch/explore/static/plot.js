// Canvas drawing for flowmatch explore: a square "world" [-extent, extent]^2 mapped onto a canvas,
// and the few marks the page draws in it (points, paths, arrows, a heat map). Written for this
// page, no library: it has to draw a few thousand marks several times a second, nothing more.

export const COLORS = { data: "#8a939d", particle: "rgba(228,87,46,0.85)", traj: "rgba(74,144,217,0.35)", arrow: "rgba(60,60,60,0.4)", source: "#2a9d8f", drawn: "#3a5ba0", grid: "#eef0f3" };

// A view of the world square in a canvas, with a small margin.
export class World {
  constructor(canvas, extent) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.extent = extent;
    this.size = Math.min(canvas.width, canvas.height);
    this.scale = (this.size - 8) / (2 * extent);
  }
  px(x) { return 4 + (x + this.extent) * this.scale; }
  py(y) { return 4 + (this.extent - y) * this.scale; }
  // canvas pixel -> world point (for the mouse)
  toWorld(cx, cy) { return [(cx - 4) / this.scale - this.extent, this.extent - (cy - 4) / this.scale]; }

  clear() {
    const c = this.ctx;
    c.fillStyle = "#fff";
    c.fillRect(0, 0, this.canvas.width, this.canvas.height);
    c.strokeStyle = COLORS.grid;
    c.lineWidth = 1;
    c.beginPath();
    for (let v = -Math.floor(this.extent); v <= this.extent; v += 1) {
      c.moveTo(this.px(v), this.py(-this.extent)); c.lineTo(this.px(v), this.py(this.extent));
      c.moveTo(this.px(-this.extent), this.py(v)); c.lineTo(this.px(this.extent), this.py(v));
    }
    c.stroke();
  }

  // xy: Float32Array of (N, 2) points, drawn as squares of `size` pixels
  points(xy, color, size = 2, count = xy.length / 2) {
    const c = this.ctx, h = size / 2;
    c.fillStyle = color;
    for (let i = 0; i < count; i++) c.fillRect(this.px(xy[2 * i]) - h, this.py(xy[2 * i + 1]) - h, size, size);
  }

  // traj: Float32Array (T, N, 2); draws the first `count` particles' paths from step 0 to `upto`
  // (a fractional step index: the last segment ends part-way)
  paths(traj, T, N, count, upto, color, width = 1) {
    const c = this.ctx;
    c.strokeStyle = color;
    c.lineWidth = width;
    c.beginPath();
    const last = Math.floor(upto), frac = upto - last;
    for (let i = 0; i < Math.min(count, N); i++) {
      c.moveTo(this.px(traj[2 * i]), this.py(traj[2 * i + 1]));
      for (let k = 1; k <= last && k < T; k++) c.lineTo(this.px(traj[(k * N + i) * 2]), this.py(traj[(k * N + i) * 2 + 1]));
      if (frac > 0 && last + 1 < T) {
        const a = (last * N + i) * 2, b = ((last + 1) * N + i) * 2;
        c.lineTo(this.px(traj[a] + frac * (traj[b] - traj[a])), this.py(traj[a + 1] + frac * (traj[b + 1] - traj[a + 1])));
      }
    }
    c.stroke();
  }

  // straight segments a_i -> b_i (two Float32Arrays of (N, 2))
  segments(a, b, color, width = 1) {
    const c = this.ctx;
    c.strokeStyle = color;
    c.lineWidth = width;
    c.beginPath();
    for (let i = 0; i < a.length / 2; i++) {
      c.moveTo(this.px(a[2 * i]), this.py(a[2 * i + 1]));
      c.lineTo(this.px(b[2 * i]), this.py(b[2 * i + 1]));
    }
    c.stroke();
  }

  // velocities v: (G*G, 2) at the grid of views.grid_points(extent, G), as arrows. A typical
  // arrow (the 80th percentile of the speeds) is most of a grid cell long and none is longer than
  // one: far from the data the field is fast, and scaling by the fastest would hide the rest
  arrows(v, G, color) {
    const c = this.ctx, cell = (2 * this.extent) / (G - 1);
    const speeds = [];
    for (let i = 0; i < v.length / 2; i++) speeds.push(Math.hypot(v[2 * i], v[2 * i + 1]));
    speeds.sort((a, b) => a - b);
    const typical = Math.max(1e-9, speeds[Math.floor(0.8 * (speeds.length - 1))] || 0);
    const k = (0.8 * cell) / typical;
    c.strokeStyle = color;
    c.lineWidth = 1;
    c.beginPath();
    for (let r = 0; r < G; r++) for (let q = 0; q < G; q++) {
      const i = r * G + q, x = -this.extent + q * cell, y = this.extent - r * cell;
      const f = Math.min(k, cell / Math.max(1e-9, Math.hypot(v[2 * i], v[2 * i + 1]))); // at most one cell
      const dx = v[2 * i] * f, dy = v[2 * i + 1] * f, len = Math.hypot(dx, dy) * this.scale;
      if (len < 1.5) continue;
      const x0 = this.px(x), y0 = this.py(y), x1 = this.px(x + dx), y1 = this.py(y + dy);
      c.moveTo(x0, y0); c.lineTo(x1, y1);
      const a = Math.atan2(y1 - y0, x1 - x0), h = Math.min(4, len / 3);
      c.moveTo(x1, y1); c.lineTo(x1 - h * Math.cos(a - 0.5), y1 - h * Math.sin(a - 0.5));
      c.moveTo(x1, y1); c.lineTo(x1 - h * Math.cos(a + 0.5), y1 - h * Math.sin(a + 0.5));
    }
    c.stroke();
  }

  // values: Float32Array (G, G), rows from the top; a heat map of the top `span` units (log-densities)
  heat(values, G, span = 8) {
    let hi = -Infinity;
    for (const v of values) if (Number.isFinite(v)) hi = Math.max(hi, v);
    const off = document.createElement("canvas");
    off.width = off.height = G;
    const img = off.getContext("2d").createImageData(G, G);
    for (let i = 0; i < G * G; i++) {
      const u = Number.isFinite(values[i]) ? Math.max(0, 1 - (hi - values[i]) / span) : 0;
      // white -> lavender -> deep violet: the orange particles stay visible on top
      img.data[4 * i] = 255 - 190 * u;
      img.data[4 * i + 1] = 255 - 225 * Math.sqrt(u);
      img.data[4 * i + 2] = 255 - 120 * u * u;
      img.data[4 * i + 3] = 255;
    }
    off.getContext("2d").putImageData(img, 0, 0);
    const c = this.ctx, cell = (2 * this.extent) / (G - 1);
    c.imageSmoothingEnabled = true;
    c.drawImage(off, this.px(-this.extent - cell / 2), this.py(this.extent + cell / 2), (2 * this.extent + cell) * this.scale, (2 * this.extent + cell) * this.scale);
  }
}

// points of trajectory `traj` (T, N, 2) at time t, interpolated on the grid `times` (T,)
export function pointsAt(traj, times, T, N, t) {
  let k = 0;
  while (k < T - 2 && times[k + 1] < t) k++;
  const span = times[k + 1] - times[k];
  const f = T < 2 || span <= 0 ? 0 : Math.min(1, Math.max(0, (t - times[k]) / span));
  const out = new Float32Array(2 * N);
  for (let i = 0; i < 2 * N; i++) {
    const a = traj[k * N * 2 + i];
    out[i] = T < 2 ? a : a + f * (traj[(k + 1) * N * 2 + i] - a);
  }
  return { xy: out, index: T < 2 ? 0 : k + f };
}

// a loss curve: pts = [[step, loss], ...] on a log scale
export function lossCurve(canvas, pts) {
  const c = canvas.getContext("2d"), W = canvas.width, H = canvas.height;
  c.fillStyle = "#fff"; c.fillRect(0, 0, W, H);
  c.fillStyle = "#6b7380"; c.font = "11px system-ui, sans-serif";
  c.fillText("training loss (log scale)", 8, 14);
  const good = pts.filter((p) => p[1] > 0 && Number.isFinite(p[1]));
  if (good.length < 2) return;
  const s0 = good[0][0], s1 = good[good.length - 1][0];
  let lo = Infinity, hi = -Infinity;
  for (const p of good) { const l = Math.log10(p[1]); lo = Math.min(lo, l); hi = Math.max(hi, l); }
  if (hi - lo < 1e-6) { hi += 0.5; lo -= 0.5; }
  const X = (s) => 40 + ((s - s0) / Math.max(1, s1 - s0)) * (W - 50), Y = (l) => 20 + ((hi - l) / (hi - lo)) * (H - 34);
  c.fillText(Math.pow(10, hi).toPrecision(2), 4, 24); c.fillText(Math.pow(10, lo).toPrecision(2), 4, H - 12);
  c.fillText(`step ${s1}`, W - 70, H - 2);
  c.strokeStyle = "#e4572e"; c.lineWidth = 1.5; c.beginPath();
  good.forEach((p, i) => { const x = X(p[0]), y = Y(Math.log10(p[1])); if (i) c.lineTo(x, y); else c.moveTo(x, y); });
  c.stroke();
}
