// The backprop graph panel: Graphviz's SVG at a readable size in a box you can zoom (buttons, Ctrl +
// wheel) and pan (drag, or scroll), its legend in HTML beside it, and the narration of the backward pass.
const PT = 4 / 3; // Graphviz measures in points; CSS pixels are 3/4 of a point

export class GraphView {
  // prefix: for Graphviz's ids (node1, edge1…), so that two playgrounds in one notebook never share one (dom.js)
  constructor(box, legend, prefix = "") {
    this.box = box;
    this.legend = legend;
    this.prefix = prefix;
    this.scale = 1; // 1: Graphviz's own size, its 10 pt labels at 13 px
    this.svg = null;
    this.natural = [0, 0];
    let drag = null;
    box.addEventListener("pointerdown", (e) => {
      if (e.button !== 0) return;
      drag = { x: e.clientX, y: e.clientY, left: box.scrollLeft, top: box.scrollTop };
      box.setPointerCapture(e.pointerId);
      box.classList.add("panning");
    });
    box.addEventListener("pointermove", (e) => {
      if (!drag) return;
      box.scrollLeft = drag.left - (e.clientX - drag.x);
      box.scrollTop = drag.top - (e.clientY - drag.y);
    });
    const end = () => { drag = null; box.classList.remove("panning"); };
    box.addEventListener("pointerup", end);
    box.addEventListener("pointercancel", end);
    box.addEventListener("wheel", (e) => {
      if (!e.ctrlKey) return; // a plain wheel scrolls, as everywhere else
      e.preventDefault();
      const r = box.getBoundingClientRect();
      this.zoom(e.deltaY < 0 ? 1.2 : 1 / 1.2, e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });
  }

  show(message) {
    if (!message.svg) {
      this.svg = null;
      this.box.innerHTML = "";
      const pre = document.createElement("pre");
      pre.textContent = "Graphviz's dot is not installed on the server, so here is the graph's DOT source:\n\n" + message.dot;
      this.box.append(pre);
    } else {
      const { scrollLeft, scrollTop } = this.box;
      this.box.innerHTML = message.svg.slice(message.svg.indexOf("<svg"));
      this.svg = this.box.querySelector("svg");
      if (this.prefix) for (const el of this.svg.querySelectorAll("[id]")) el.id = this.prefix + el.id;
      const [, , w, h] = (this.svg.getAttribute("viewBox") || "0 0 100 100").split(/[ ,]+/).map(Number);
      this.natural = [w * PT, h * PT];
      this.svg.removeAttribute("width");
      this.svg.removeAttribute("height");
      this.apply();
      this.box.scrollLeft = scrollLeft; this.box.scrollTop = scrollTop; // a redraw keeps the view where it was
    }
    if (message.legend) this.showLegend(message.legend);
  }

  apply() {
    if (!this.svg) return;
    this.svg.style.width = `${this.natural[0] * this.scale}px`;
    this.svg.style.height = `${this.natural[1] * this.scale}px`;
    this.box.dataset.scale = this.scale.toFixed(3);
  }

  // Zoom by `factor` keeping the point (x, y) of the box (its centre by default) where it is.
  zoom(factor, x = this.box.clientWidth / 2, y = this.box.clientHeight / 2) {
    const old = this.scale;
    this.scale = Math.min(4, Math.max(0.2, old * factor));
    const k = this.scale / old;
    const left = (this.box.scrollLeft + x) * k - x, top = (this.box.scrollTop + y) * k - y;
    this.apply();
    this.box.scrollLeft = left; this.box.scrollTop = top;
  }

  fit() {
    if (!this.svg) return;
    const [w, h] = this.natural;
    this.scale = Math.min((this.box.clientWidth - 4) / w, (this.box.clientHeight - 4) / h);
    this.apply();
    this.box.scrollLeft = 0; this.box.scrollTop = 0;
  }

  actual() {
    this.scale = 1;
    this.apply();
  }

  showLegend({ edges, nodes }) {
    const el = this.legend;
    el.innerHTML = "";
    const heading = (text) => { const h = document.createElement("h3"); h.textContent = text; el.append(h); };
    const row = (mark, label) => {
      const div = document.createElement("div");
      div.className = "row";
      div.innerHTML = mark;
      const span = document.createElement("span");
      span.textContent = label;
      div.append(span);
      el.append(div);
    };
    heading("Edge colour: ‖δ‖ of the tensor it leaves");
    for (const r of edges) {
      const dash = r.style === "dashed" ? "6,4" : r.style === "dotted" ? "2,3" : "";
      row(`<svg width="34" height="10" aria-hidden="true"><line x1="1" y1="5" x2="33" y2="5" stroke="${r.colour}" stroke-width="${r.width}"${dash ? ` stroke-dasharray="${dash}"` : ""}/></svg>`, r.text);
    }
    heading("Nodes");
    for (const r of nodes) row(`<span class="swatch" style="background:${r.colour}"></span>`, r.text);
  }
}
