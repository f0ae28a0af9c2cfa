// The network view: input features, one square per unit (its output over the plane), links by weight.
import { weightName } from "./charts.js";
import { CLASS_COLOURS, NEG, POS, blend, css, decode, diverging, paint } from "./colours.js";

const SVG = "http://www.w3.org/2000/svg";
const UNIT = 10;

export class NetworkView {
  // $: the page's elements by id (dom.js); callbacks: setHidden(sizes), setWeight(layer, to, from, value);
  // signal: aborts the listener this view puts on the document
  constructor($, callbacks, signal) {
    const root = (this.root = $("network"));
    this.layersEl = $("layers");
    this.svg = $("links");
    this.editor = $("weight-editor");
    this.editorInput = $("weight-value");
    this.editorLabel = $("weight-label");
    this.editorError = $("error-weight");
    this.callbacks = callbacks;
    this.key = "";
    this.editing = null;
    this.editorInput.addEventListener("keydown", (e) => {
      if (e.key === "Escape") this.closeEditor();
      if (e.key !== "Enter" || !this.editing) return;
      const value = Number(this.editorInput.value);
      if (this.editorInput.value.trim() === "" || !Number.isFinite(value)) {
        this.editorError.textContent = `${this.editorInput.value.slice(0, 20)} is not a number`;
        return;
      }
      const { layer, to, from } = this.editing;
      this.callbacks.setWeight(layer, to, from, value);
    });
    document.addEventListener("mousedown", (e) => {
      if (this.editing && !this.editor.contains(e.target) && !(root.contains(e.target) && e.target.closest?.(".hit, .node"))) this.closeEditor();
    }, { signal });
  }

  // Lay the view out for layer sizes [inputs, hidden…, outputs] over the named input features.
  build(sizes, inputs, regression) {
    const key = JSON.stringify([sizes, inputs, regression]);
    if (key === this.key) return;
    this.key = key;
    this.sizes = sizes;
    this.inputs = inputs;
    this.closeEditor();
    this.layersEl.innerHTML = "";
    this.svg.innerHTML = "";
    const hidden = sizes.slice(1, -1);
    const width = Math.max(this.root.clientWidth, 420);
    const most = Math.max(...sizes.slice(1), 1);
    const top = 58; // the layer titles (two lines) and the + − buttons above the units
    const height = Math.max(300, Math.min(top + most * 34 + 8, 440)); // at most 440 px: the page fits 768 px
    this.root.style.height = `${height}px`;
    const rowH = Math.min(34, (height - top - 8) / most);
    const size = Math.max(6, Math.min(30, rowH - 6));
    const x0 = 150, x1 = width - 40;
    const columns = hidden.length + 1;
    // node centres, column by column: inputs are the feature squares of the page
    this.centres = [inputs.map((name) => this.featureCentre(name))];
    this.canvases = [inputs.map((name) => this.root.querySelector(`.feature[data-feature="${name}"] canvas`))];
    for (let c = 0; c < columns; c++) {
      const n = sizes[c + 1], output = c === columns - 1;
      const x = columns === 1 ? x1 : x0 + ((x1 - x0) * c) / (columns - 1);
      const title = document.createElement("div");
      title.className = "layer-title";
      title.style.left = `${x}px`;
      // named as the graph and the lecture name them: layer l holds W⁽ˡ⁾ and b⁽ˡ⁾
      title.textContent = `layer ${c + 1}\n${output ? (regression ? "output y" : `${n} classes`) : `${n} unit${n > 1 ? "s" : ""}`}`;
      title.style.whiteSpace = "pre";
      this.layersEl.append(title);
      if (!output) this.layersEl.append(this.unitButtons(c, x));
      const centres = [], canvases = [];
      for (let j = 0; j < n; j++) {
        const y = top + (j + 0.5) * rowH;
        const node = document.createElement("div");
        node.className = output ? "node output" : "node";
        node.style.left = `${x - size / 2}px`;
        node.style.top = `${y - size / 2}px`;
        node.title = output ? (regression ? "the output y" : `P(class ${j}) over the plane, in class ${j}'s colour`) : `unit ${j + 1} of layer ${c + 1}: click to edit its bias`;
        node.dataset.layer = c; node.dataset.unit = j;
        const canvas = document.createElement("canvas");
        canvas.className = "unit";
        canvas.width = canvas.height = UNIT;
        canvas.style.width = canvas.style.height = `${size}px`;
        node.append(canvas);
        node.addEventListener("click", (e) => this.openEditor(e, c, j, "bias"));
        this.layersEl.append(node);
        centres.push([x, y, size]);
        canvases.push(canvas);
      }
      this.centres.push(centres);
      this.canvases.push(canvases);
    }
    // links: one visible path and one wide invisible one to click, per weight
    this.links = [];
    for (let l = 0; l < columns; l++) {
      const rows = [];
      this.centres[l + 1].forEach(([xb, yb, sb], j) => {
        const row = [];
        this.centres[l].forEach(([xa, ya, sa], i) => {
          const ax = xa + sa / 2, bx = xb - sb / 2, mid = (ax + bx) / 2;
          const d = `M${ax},${ya} C${mid},${ya} ${mid},${yb} ${bx},${yb}`;
          const hit = document.createElementNS(SVG, "path");
          hit.setAttribute("d", d); hit.setAttribute("class", "hit");
          hit.dataset.layer = l; hit.dataset.to = j; hit.dataset.from = i;
          hit.addEventListener("click", (e) => this.openEditor(e, l, j, i));
          const link = document.createElementNS(SVG, "path");
          link.setAttribute("d", d); link.setAttribute("class", "link");
          const titleEl = document.createElementNS(SVG, "title");
          hit.append(titleEl);
          this.svg.append(hit, link);
          row.push({ link, title: titleEl });
        });
        rows.push(row);
      });
      this.links.push(rows);
    }
  }

  featureCentre(name) {
    const canvas = this.root.querySelector(`.feature[data-feature="${name}"] canvas`);
    const a = canvas.getBoundingClientRect(), b = this.root.getBoundingClientRect();
    return [a.left - b.left + a.width / 2, a.top - b.top + a.height / 2, a.width];
  }

  unitButtons(c, x) {
    const box = document.createElement("div");
    box.className = "unit-buttons";
    box.style.left = `${x}px`;
    for (const [text, delta, what] of [["+", 1, "add a unit"], ["−", -1, "remove a unit"]]) {
      const b = document.createElement("button");
      b.type = "button"; b.textContent = text; b.title = `${what} in layer ${c + 1}`;
      b.className = delta > 0 ? "add-unit" : "remove-unit";
      b.addEventListener("click", () => {
        const hidden = this.sizes.slice(1, -1);
        hidden[c] += delta;
        if (hidden[c] < 1) hidden.splice(c, 1);
        this.callbacks.setHidden(hidden);
      });
      box.append(b);
    }
    return box;
  }

  // Redraw the squares and the links from a frame.
  update(frame) {
    if (!this.canvases) return;
    const last = frame.units.length - 1;
    frame.units.forEach((layer, l) => layer.forEach((b64, j) => {
      const canvas = this.canvases[l] && this.canvases[l][j];
      if (!canvas) return;
      // an output unit of a class shows its probability p (sent as 2p − 1) in that class's colour
      const colour = l === last && !frame.regression ? (byte) => blend(CLASS_COLOURS[j], byte / 255) : diverging;
      paint(canvas, decode(b64), UNIT, colour);
    }));
    this.weights = frame.weights;
    this.biases = frame.biases;
    frame.weights.forEach((W, l) => W.forEach((row, j) => row.forEach((w, i) => {
      const entry = this.links[l] && this.links[l][j] && this.links[l][j][i];
      if (!entry) return;
      const a = Math.min(Math.abs(w), 1);
      entry.link.setAttribute("stroke", css(blend(w < 0 ? NEG : POS, 0.25 + 0.75 * a)));
      entry.link.setAttribute("stroke-width", (0.5 + Math.min(Math.abs(w), 4) * 1.1).toFixed(2));
      entry.title.textContent = `w${j + 1},${i + 1} = ${w.toFixed(3)} of ${weightName(l + 1)} (layer ${l + 1}, from ${i + 1} to ${j + 1}): click to edit`;
    })));
    if (this.editing && this.editor.hidden === false && document.activeElement !== this.editorInput) this.fillEditor();
  }

  openEditor(event, layer, to, from) {
    if (!this.weights) return;
    this.editing = { layer, to, from };
    this.editor.hidden = false;
    const box = this.root.getBoundingClientRect();
    this.editor.style.left = `${Math.min(event.clientX - box.left + 8, box.width - 150)}px`;
    this.editor.style.top = `${event.clientY - box.top + 8}px`;
    this.editorError.textContent = "";
    this.fillEditor();
    this.editorInput.focus();
    this.editorInput.select();
  }

  fillEditor() {
    const { layer, to, from } = this.editing;
    const bias = from === "bias";
    const value = bias ? this.biases[layer][to] : this.weights[layer][to][from];
    this.editorLabel.textContent = bias ? `bias b${to + 1} of layer ${layer + 1}` : `weight w${to + 1},${from + 1} of layer ${layer + 1}`;
    this.editorInput.value = String(value);
  }

  closeEditor() {
    this.editing = null;
    this.editor.hidden = true;
  }

  showError(text) {
    if (this.editing) this.editorError.textContent = text;
    return Boolean(this.editing);
  }
}
