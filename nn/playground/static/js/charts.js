// Line charts over epochs: the training and test loss, and the gradient norm reaching each layer's weights.
import { NEG, POS, css } from "./colours.js";

const LAYER_COLOURS = ["#08519c", "#e6550d", "#31a354", "#756bb1", "#636363", "#d6616b", "#3182bd", "#fd8d3c", "#74c476", "#9e9ac8", "#969696"];

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

// Every k-th of n rows so that a chart draws at most about `width` points.
function sample(rows, width) {
  const step = Math.max(1, Math.ceil(rows.length / width));
  const out = [];
  for (let i = 0; i < rows.length; i += step) out.push(rows[i]);
  if (rows.length && out[out.length - 1] !== rows[rows.length - 1]) out.push(rows[rows.length - 1]);
  return out;
}

function line(ctx, rows, x, y, colour, width) {
  ctx.strokeStyle = colour; ctx.lineWidth = width; ctx.beginPath();
  let started = false;
  for (const r of rows) {
    const py = y(r);
    if (py === null || !Number.isFinite(py)) { started = false; continue; }
    if (!started) { ctx.moveTo(x(r), py); started = true; } else ctx.lineTo(x(r), py);
  }
  ctx.stroke();
}

export function drawLoss(canvas, history) {
  const ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height;
  ctx.clearRect(0, 0, W, H);
  const rows = sample(history.rows, W);
  if (rows.length < 2) return;
  const last = rows[rows.length - 1][0] || 1;
  let top = 0;
  for (const r of rows) for (const v of [r[1], r[2]]) if (v !== null && Number.isFinite(v)) top = Math.max(top, v);
  top = top || 1;
  const x = (r) => 2 + (r[0] / last) * (W - 4);
  for (const [col, colour] of [[2, css(NEG)], [1, css(POS)]]) {
    line(ctx, rows, x, (r) => (r[col] === null ? null : H - 3 - (Math.min(r[col], top) / top) * (H - 8)), colour, 1.6);
  }
  ctx.fillStyle = "#999"; ctx.font = "10px sans-serif";
  ctx.fillText(top.toPrecision(2), 3, 10);
}

export function drawGradients(canvas, history, legend) {
  const ctx = canvas.getContext("2d"), W = canvas.width, H = canvas.height;
  ctx.clearRect(0, 0, W, H);
  const rows = sample(history.rows.filter((r) => r[0] > 0), W);
  const layers = rows.length ? rows[0].length - 5 : 0;
  legend.innerHTML = "";
  for (let l = 0; l < layers; l++) {
    const span = document.createElement("span");
    span.textContent = ` ■ W${l + 1}`;
    span.style.color = LAYER_COLOURS[l % LAYER_COLOURS.length];
    legend.append(span);
  }
  if (rows.length < 1) return;
  let lo = Infinity, hi = -Infinity;
  for (const r of rows) for (let l = 0; l < layers; l++) {
    const v = r[5 + l];
    if (v > 0 && Number.isFinite(v)) { lo = Math.min(lo, Math.log10(v)); hi = Math.max(hi, Math.log10(v)); }
  }
  if (!Number.isFinite(lo)) return;
  lo = Math.floor(lo); hi = Math.max(Math.ceil(hi), lo + 1);
  const last = rows[rows.length - 1][0] || 1, first = rows[0][0];
  const x = (r) => 2 + ((r[0] - first) / Math.max(last - first, 1)) * (W - 4);
  const y = (v) => (v > 0 && Number.isFinite(v) ? H - 3 - ((Math.log10(v) - lo) / (hi - lo)) * (H - 14) : null);
  ctx.fillStyle = "#999"; ctx.font = "10px sans-serif";
  ctx.fillText(`1e${hi}`, 3, 10); ctx.fillText(`1e${lo}`, 3, H - 4);
  for (let l = 0; l < layers; l++) line(ctx, rows, x, (r) => y(r[5 + l]), LAYER_COLOURS[l % LAYER_COLOURS.length], 1.4);
}

