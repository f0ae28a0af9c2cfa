// The output view: the network's output over the plane (a heatmap per class), and the data points on top.
// For the sine it is a plot instead: the points (x, t) and the network's curve y(x).
import { CLASS_COLOURS, NEG, POS, blend, css, decode } from "./colours.js";

export class Boundary {
  constructor(canvas) {
    this.canvas = canvas;
    this.ctx = canvas.getContext("2d");
    this.data = null;
    this.output = null;
    this.showTest = false;
    this.discretize = false;
    this.pending = null; // points being drawn, before the server takes them
    this.heat = document.createElement("canvas");
  }

  // Page pixel → data coordinates.
  toData(px, py) {
    const [x0, x1, y0, y1] = this.data.domain;
    const { width, height } = this.canvas.getBoundingClientRect();
    return [x0 + (px / width) * (x1 - x0), y1 - (py / height) * (y1 - y0)];
  }

  toCanvas(x, y) {
    const [x0, x1, y0, y1] = this.data.domain;
    return [((x - x0) / (x1 - x0)) * this.canvas.width, ((y1 - y) / (y1 - y0)) * this.canvas.height];
  }

  setData(data) { this.data = data; this.output = null; this.draw(); }
  setOutput(output) { this.output = output; this.draw(); }

  draw() {
    const { ctx, canvas } = this;
    ctx.clearRect(0, 0, canvas.width, canvas.height);
    if (!this.data) return;
    if (this.data.regression) this.drawCurve();
    else if (!this.pending) this.drawHeatmap(); // while drawing, the old network's output would mislead
    this.drawPoints();
  }

  drawHeatmap() {
    const out = this.output;
    if (!out || !out.cls) return;
    const n = out.size, cls = decode(out.cls), conf = decode(out.conf);
    this.heat.width = n; this.heat.height = n;
    const hctx = this.heat.getContext("2d");
    const image = hctx.createImageData(n, n);
    for (let i = 0; i < n * n; i++) {
      let a = conf[i] / 255;
      if (this.discretize) a = 1;
      const [r, g, b] = blend(CLASS_COLOURS[cls[i]], 0.75 * a);
      image.data.set([r, g, b, 255], 4 * i);
    }
    hctx.putImageData(image, 0, 0);
    this.ctx.imageSmoothingEnabled = !this.discretize;
    this.ctx.drawImage(this.heat, 0, 0, this.canvas.width, this.canvas.height);
  }

  drawCurve() {
    const { ctx, canvas } = this;
    const [x0, x1] = this.data.domain;
    ctx.strokeStyle = "#ddd";
    ctx.lineWidth = 1;
    const [, zy] = this.toCanvas(0, 0);
    ctx.beginPath(); ctx.moveTo(0, zy); ctx.lineTo(canvas.width, zy); ctx.stroke();
    const out = this.output;
    if (!out || !out.curve) return;
    ctx.strokeStyle = css(NEG);
    ctx.lineWidth = 2.5;
    ctx.beginPath();
    out.curve.forEach((y, i) => {
      const [cx, cy] = this.toCanvas(x0 + ((x1 - x0) * i) / (out.curve.length - 1), y);
      if (i === 0) ctx.moveTo(cx, cy); else ctx.lineTo(cx, cy);
    });
    ctx.stroke();
  }

  drawPoints() {
    const { ctx } = this;
    const regression = this.data.regression;
    const dot = ([x, y, c], test) => {
      const [cx, cy] = this.toCanvas(x, y);
      ctx.beginPath();
      ctx.arc(cx, cy, test ? 3.5 : 3, 0, 2 * Math.PI);
      ctx.fillStyle = css(regression ? POS : CLASS_COLOURS[c]);
      ctx.fill();
      ctx.lineWidth = test ? 1.4 : 0.8;
      ctx.strokeStyle = test ? "#000" : "#fff";
      ctx.stroke();
    };
    const points = this.pending || this.data.train;
    for (const p of points) dot(p, false);
    if (this.showTest && !this.pending) for (const p of this.data.test) dot(p, true);
  }
}
