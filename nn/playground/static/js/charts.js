// Line charts over epochs, with axes and ticks: the training and test loss, and the gradient norm
// reaching each layer's weights (the server's mean over each epoch's steps, so not one batch's noise).
import { NEG, POS, css } from "./colours.js";

const LAYER_COLOURS = ["#08519c", "#e6550d", "#31a354", "#756bb1", "#636363", "#d6616b", "#3182bd", "#fd8d3c", "#74c476", "#9e9ac8", "#969696"];
const SUPERSCRIPT = "⁰¹²³⁴⁵⁶⁷⁸⁹";
const MARGIN = { left: 38, right: 8, top: 6, bottom: 24 };

const MAX_ROWS = 5000; // as the server: past it the older half is thinned to every other row

export class History {
  constructor() { this.rows = []; }
  clear() { this.rows = []; }
  add(rows) {
    for (const row of rows) {
      // a row that does not move on (epoch 0 after a reset, a weight set by hand) replaces what it repeats
      if (this.rows.length && this.rows[this.rows.length - 1][0] >= row[0]) this.rows.length = this.rows.findIndex((r) => r[0] >= row[0]);
      this.rows.push(row);
      if (this.rows.length > MAX_ROWS) {
        const keep = MAX_ROWS / 2;
        this.rows = [...this.rows.slice(0, -keep).filter((_, i) => i % 2 === 0), ...this.rows.slice(-keep)];
      }
    }
  }
}

export function superscript(n) {
  return String(n).replace("-", "⁻").replace(/\d/g, (d) => SUPERSCRIPT[d]);
}

// Layer l's weights as the lecture writes them: W⁽¹⁾ for the first.
export function weightName(l) {
  return `W⁽${superscript(l)}⁾`;
}

// Round ticks from lo to hi, about n of them: steps of 1, 2 or 5 times a power of ten.
export function niceTicks(lo, hi, n = 4) {
  const span = hi - lo || 1;
  const raw = span / n, power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw);
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

// Every k-th of n rows so that a chart draws at most about `width` points.
function sample(rows, width) {
  const step = Math.max(1, Math.ceil(rows.length / width));
  const out = [];
  for (let i = 0; i < rows.length; i += step) out.push(rows[i]);
  if (rows.length && out[out.length - 1] !== rows[rows.length - 1]) out.push(rows[rows.length - 1]);
  return out;
}

// A canvas as crisp as the screen: its pixels scaled by devicePixelRatio, drawing in CSS pixels.
function prepare(canvas) {
  const dpr = window.devicePixelRatio || 1;
  const W = canvas.clientWidth || 270, H = canvas.clientHeight || 120;
  if (canvas.width !== Math.round(W * dpr)) { canvas.width = Math.round(W * dpr); canvas.height = Math.round(H * dpr); }
  const ctx = canvas.getContext("2d");
  ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
  ctx.clearRect(0, 0, W, H);
  return { ctx, W, H };
}

// The frame, the ticks and their labels; returns the maps from data to pixels.
function axes(canvas, ctx, W, H, { x0, x1, y0, y1, xticks, yticks, ylabel, ytext }) {
  const left = MARGIN.left, right = W - MARGIN.right, top = MARGIN.top, bottom = H - MARGIN.bottom;
  const px = (x) => left + ((x - x0) / (x1 - x0 || 1)) * (right - left);
  const py = (y) => bottom - ((y - y0) / (y1 - y0 || 1)) * (bottom - top);
  ctx.font = "10px sans-serif"; ctx.fillStyle = "#666"; ctx.strokeStyle = "#e6e6e6"; ctx.lineWidth = 1;
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  for (const t of yticks) {
    const y = Math.round(py(t)) + 0.5;
    ctx.beginPath(); ctx.moveTo(left, y); ctx.lineTo(right, y); ctx.stroke();
    ctx.fillText(ytext(t), left - 4, y);
  }
  ctx.textAlign = "center"; ctx.textBaseline = "top";
  for (const t of xticks) {
    const x = Math.round(px(t)) + 0.5;
    ctx.strokeStyle = "#999"; ctx.beginPath(); ctx.moveTo(x, bottom); ctx.lineTo(x, bottom + 3); ctx.stroke();
    ctx.fillText(String(t), x, bottom + 4);
  }
  ctx.strokeStyle = "#999";
  ctx.beginPath(); ctx.moveTo(left + 0.5, top); ctx.lineTo(left + 0.5, bottom + 0.5); ctx.lineTo(right, bottom + 0.5); ctx.stroke();
  ctx.textAlign = "right"; ctx.textBaseline = "bottom"; ctx.fillStyle = "#888";
  ctx.fillText("epoch", right, H - 1);
  ctx.save(); ctx.translate(9, (top + bottom) / 2); ctx.rotate(-Math.PI / 2); ctx.textAlign = "center"; ctx.textBaseline = "middle";
  ctx.fillText(ylabel, 0, 0); ctx.restore();
  // what the axes show, for the page's tests and for screen readers
  canvas.dataset.xticks = xticks.join(",");
  canvas.dataset.yticks = yticks.map(ytext).join(",");
  canvas.setAttribute("aria-description", `${ylabel} from ${ytext(yticks[0])} to ${ytext(yticks[yticks.length - 1])} over epochs ${x0} to ${x1}`);
  return { px, py, left, right, top, bottom };
}

function line(ctx, rows, x, y, colour, width, clip) {
  ctx.save();
  ctx.beginPath(); ctx.rect(clip.left, clip.top - 1, clip.right - clip.left, clip.bottom - clip.top + 2); ctx.clip();
  ctx.strokeStyle = colour; ctx.lineWidth = width; ctx.beginPath();
  let started = false;
  for (const r of rows) {
    const py = y(r);
    if (py === null || !Number.isFinite(py)) { started = false; continue; }
    if (!started) { ctx.moveTo(x(r), py); started = true; } else ctx.lineTo(x(r), py);
  }
  ctx.stroke();
  ctx.restore();
}

function epochRange(rows) {
  const first = rows[0][0], last = Math.max(rows[rows.length - 1][0], first + 1);
  return { x0: first, x1: last, xticks: niceTicks(first, last, 4).filter((t) => t >= first && t <= last && Number.isInteger(t)) };
}

export function drawLoss(canvas, history) {
  const { ctx, W, H } = prepare(canvas);
  const rows = sample(history.rows, W);
  if (rows.length < 1) { delete canvas.dataset.xticks; delete canvas.dataset.yticks; return; }
  let top = 0;
  for (const r of rows) for (const v of [r[1], r[2]]) if (v !== null && Number.isFinite(v)) top = Math.max(top, v);
  const yticks = niceTicks(0, top || 1, 3);
  const y1 = Math.max(top || 1, yticks[yticks.length - 1]);
  const range = epochRange(rows);
  const a = axes(canvas, ctx, W, H, { ...range, y0: 0, y1, yticks, ylabel: "loss", ytext: (t) => String(t) });
  for (const [col, colour] of [[2, css(NEG)], [1, css(POS)]]) {
    line(ctx, rows, (r) => a.px(r[0]), (r) => (r[col] === null ? null : a.py(Math.min(r[col], y1))), colour, 1.6, a);
  }
}

export function drawGradients(canvas, history, legend) {
  const { ctx, W, H } = prepare(canvas);
  const rows = sample(history.rows.filter((r) => r[0] > 0), W);
  const layers = history.rows.length ? history.rows[0].length - 5 : 0;
  legend.innerHTML = "";
  for (let l = 0; l < layers; l++) {
    const span = document.createElement("span");
    span.textContent = ` ━ ${weightName(l + 1)}`;
    span.style.color = LAYER_COLOURS[l % LAYER_COLOURS.length];
    legend.append(span);
  }
  let lo = Infinity, hi = -Infinity;
  for (const r of rows) for (let l = 0; l < layers; l++) {
    const v = r[5 + l];
    if (v > 0 && Number.isFinite(v)) { lo = Math.min(lo, Math.log10(v)); hi = Math.max(hi, Math.log10(v)); }
  }
  if (!rows.length || !Number.isFinite(lo)) { delete canvas.dataset.xticks; delete canvas.dataset.yticks; return; }
  lo = Math.floor(lo); hi = Math.max(Math.ceil(hi), lo + 1);
  const every = Math.ceil((hi - lo + 1) / 5); // at most five powers of ten labelled
  const yticks = [];
  for (let p = hi; p >= lo; p -= every) yticks.unshift(p);
  const range = epochRange(rows);
  const a = axes(canvas, ctx, W, H, { ...range, y0: lo, y1: hi, yticks, ylabel: "‖∂E/∂W‖", ytext: (p) => `10${superscript(p)}` });
  for (let l = 0; l < layers; l++) {
    line(ctx, rows, (r) => a.px(r[0]), (r) => (r[5 + l] > 0 && Number.isFinite(r[5 + l]) ? a.py(Math.log10(r[5 + l])) : null),
      LAYER_COLOURS[l % LAYER_COLOURS.length], 1.4, a);
  }
}
