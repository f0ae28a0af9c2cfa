// Your own data: points drawn by clicking on the output view, or read from a CSV file of x1, x2, class.

// Rows of three numbers (x1, x2, integer class from 0 to classes − 1); header and blank lines are skipped;
// more than `limit` points is refused here, with the limit said, before anything is sent.
export function parseCsv(text, classes, limit = Infinity) {
  const points = [];
  const lines = text.split(/\r?\n/);
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n].trim();
    if (!line || line.startsWith("#")) continue;
    const cells = line.split(/[,;\t ]+/);
    const values = cells.map(Number);
    if (values.some((v) => !Number.isFinite(v)) || cells.some((c) => c === "")) {
      if (points.length === 0 && n === 0) continue; // a header
      throw new Error(`line ${n + 1} is not three numbers x1, x2, class: ${line.slice(0, 40)}`);
    }
    if (values.length !== 3) throw new Error(`line ${n + 1} has ${values.length} values, not three (x1, x2, class)`);
    if (!Number.isInteger(values[2]) || values[2] < 0 || values[2] >= classes) {
      throw new Error(`line ${n + 1}: the class must be a whole number from 0 to ${classes - 1}, got ${cells[2]}`);
    }
    points.push(values);
  }
  if (!points.length) throw new Error("the file holds no points (rows x1, x2, class)");
  if (points.length > limit) throw new Error(`the file holds ${points.length} points; the playground takes at most ${limit}`);
  return points;
}

// The point nearest to (x, y), as an index, or -1 for none.
export function nearest(points, x, y) {
  let best = -1, dist = Infinity;
  points.forEach(([px, py], i) => {
    const d = (px - x) ** 2 + (py - y) ** 2;
    if (d < dist) { dist = d; best = i; }
  });
  return best;
}

export function round(v) {
  return Math.round(v * 1000) / 1000;
}

// Drawing on the output view and uploading a CSV. ctx: { $ (the page's elements, dom.js), state, boundary, set(values) }.
export class OwnPoints {
  constructor(ctx) {
    this.ctx = ctx;
    const $ = (this.$ = ctx.$);
    this.drawing = false;
    const canvas = $("boundary");
    $("draw").addEventListener("click", () => (this.drawing ? this.stop() : this.start()));
    canvas.addEventListener("click", (e) => this.click(e));
    $("clear-points").addEventListener("click", () => {
      if (!this.drawing) this.start();
      this.show([]);
      this.note("cleared: the network keeps its points until you have drawn 4 new ones of two classes");
    });
    $("upload").addEventListener("change", () => this.upload());
  }

  // A word on what to do next, in grey: not an error.
  note(text) {
    this.$("error-points").textContent = "";
    this.$("note-points").textContent = text;
  }

  // The points on the page: the ones being drawn, or none (the view shows the data set's).
  show(points) {
    this.ctx.state.pending = points;
    this.ctx.boundary.pending = points;
    this.ctx.boundary.draw();
  }

  // The user's points the server holds, if the data set is theirs.
  current() {
    const { settings, data } = this.ctx.state;
    return settings && settings.dataset === "custom" && data ? [...data.train, ...data.test] : [];
  }

  start() {
    this.drawing = true;
    this.$("draw").setAttribute("aria-pressed", "true");
    this.$("boundary").classList.add("drawing");
    const points = this.current();
    this.show(points);
    this.note(points.length ? "" : "click on the output to add points of the chosen class; 4 of two classes start training");
  }

  stop() {
    this.drawing = false;
    this.$("draw").setAttribute("aria-pressed", "false");
    this.$("boundary").classList.remove("drawing");
    this.note("");
    this.show(null);
  }

  click(e) {
    const { state, boundary } = this.ctx;
    if (!this.drawing || !state.data) return;
    if (state.data.regression) {
      this.$("error-points").textContent = "your own points are for classification: pick another data set first";
      return;
    }
    const r = this.$("boundary").getBoundingClientRect();
    const [x, y] = boundary.toData(e.clientX - r.left, e.clientY - r.top);
    const points = [...(state.pending || [])];
    if (e.shiftKey) {
      const i = nearest(points, x, y);
      if (i >= 0) points.splice(i, 1);
    } else {
      points.push([x, y, Number(this.$("draw-class").value)]);
    }
    this.show(points);
    // fewer than 4 points, or one class, is a drawing in progress, not an error: say what is missing
    const classes = new Set(points.map((p) => p[2])).size;
    if (points.length < 4 || classes < 2) {
      const more = Math.max(0, 4 - points.length);
      this.note(`${more ? `${more} more point${more > 1 ? "s" : ""}` : "points of a second class"}${more && classes < 2 ? ", of two classes," : ""} and training starts on your points`);
      return;
    }
    this.note("");
    this.send(points);
  }

  async upload() {
    const file = this.$("upload").files[0];
    if (!file) return;
    try {
      const { classes, points: limit } = this.ctx.state.hello.limits;
      const points = parseCsv(await file.text(), classes, limit);
      this.stop();
      this.send(points);
    } catch (err) {
      this.$("error-points").textContent = err.message;
    }
    this.$("upload").value = "";
  }

  send(points) {
    // as many classes as the points use: a 2-class file after 3 drawn classes has two outputs, not three
    const classes = Math.max(2, ...points.map((p) => p[2] + 1));
    this.ctx.set({ dataset: "custom", points: points.map(([x, y, c]) => [round(x), round(y), c]), classes: String(classes) });
  }
}
