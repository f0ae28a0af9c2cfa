// The playground page: controls → messages to the server; the server's frames → the views.
// The server owns the set-up and checks every value; the page shows what it accepted, and its
// errors next to the controls they belong to.
import { Boundary } from "./boundary.js";
import { History, drawGradients, drawLoss } from "./charts.js";
import { CLASS_COLOURS, css } from "./colours.js";
import { readFragment, writeFragment } from "./fragment.js";
import { NetworkView } from "./network.js";
import { nearest, parseCsv, round } from "./points.js";

const $ = (id) => document.getElementById(id);
const FIELDS = ["dataset", "classes", "noise", "train-ratio", "batch-size", "seed", "features", "hidden", "activation",
  "lr", "momentum", "regularization", "reg-rate", "speed", "points"];
const VIEW = ["show-test", "discretize"]; // the page's own options, kept in the fragment too
const FEATURE_NAMES = ["x1", "x2", "x1sq", "x2sq", "x1x2", "sinx1", "sinx2"];

const state = {
  socket: null, settings: null, errors: {}, playing: false, data: null, frame: null,
  drawing: false, pending: null, weightPending: false, hello: null,
  editing: new Set(), // text controls typed into but not yet sent
};
const history = new History();
const boundary = new Boundary($("boundary"));
const network = new NetworkView($("network"), {
  setHidden: (sizes) => set({ hidden: sizes.join(",") }),
  setWeight: (layer, to, from, value) => {
    state.weightPending = true;
    send({ type: "set_weight", layer, to, from, value });
  },
});

function send(message) {
  if (state.socket && state.socket.readyState === WebSocket.OPEN) state.socket.send(JSON.stringify(message));
}

function set(values, partial = false) {
  send({ type: "set", settings: values, partial });
}

// --- from the server ---------------------------------------------------------------------------

const handlers = {
  hello(m) {
    state.hello = m;
    const box = $("presets");
    box.innerHTML = "";
    m.presets.forEach((p, i) => {
      const b = document.createElement("button");
      b.type = "button"; b.id = `preset-${i + 1}`; b.textContent = p.title;
      b.addEventListener("click", () => {
        for (const other of box.children) other.classList.toggle("active", other === b);
        $("preset-text").textContent = p.text;
        state.pending = null;
        set(p.settings);
      });
      box.append(b);
    });
    const drawClass = $("draw-class");
    drawClass.innerHTML = "";
    for (let c = 0; c < m.limits.classes; c++) {
      const o = document.createElement("option");
      o.value = c; o.textContent = `class ${c}`; o.style.color = css(CLASS_COLOURS[c]);
      drawClass.append(o);
    }
    const fragment = readFragment();
    for (const key of VIEW) if (key in fragment) $(key).checked = fragment[key] === "1";
    boundary.showTest = $("show-test").checked;
    boundary.discretize = $("discretize").checked;
    const wanted = Object.fromEntries(Object.entries(fragment).filter(([k]) => FIELDS.includes(k)));
    if (Object.keys(wanted).length) set(wanted, true);
  },

  settings(m) {
    state.settings = m.settings;
    state.errors = m.errors;
    showSettings();
  },

  data(m) {
    state.data = m;
    if (!state.drawing) state.pending = null;
    boundary.setData(m);
  },

  frame(m) {
    state.frame = m;
    history.add(m.rows);
    $("epoch").textContent = String(m.epoch).padStart(3, "0").replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    $("loss-train").textContent = number(m.loss_train);
    $("loss-test").textContent = number(m.loss_test);
    $("acc-train").textContent = percent(m.acc_train);
    $("acc-test").textContent = percent(m.acc_test);
    network.build(m.sizes, m.inputs, m.regression);
    network.update(m);
    boundary.setOutput(m.output);
    drawLoss($("loss-chart"), history);
    drawGradients($("grad-chart"), history, $("grad-legend"));
    setPlaying(m.playing);
    showMessage(m.diverged || "");
    if (state.weightPending) { state.weightPending = false; network.closeEditor(); }
  },

  graph(m) {
    const box = $("graph");
    if (m.svg) {
      box.innerHTML = m.svg.slice(m.svg.indexOf("<svg"));
    } else {
      box.innerHTML = "";
      const pre = document.createElement("pre");
      pre.textContent = "Graphviz's dot is not installed on the server, so here is the graph's DOT source:\n\n" + m.dot;
      box.append(pre);
    }
    $("explain").textContent = m.explain;
  },

  status(m) {
    setPlaying(m.playing);
    showMessage(m.diverged || "");
  },

  reset() {
    history.clear();
  },

  export(m) {
    const bytes = Uint8Array.from(atob(m.data), (c) => c.charCodeAt(0));
    const url = URL.createObjectURL(new Blob([bytes], { type: m.mime }));
    const a = document.createElement("a");
    a.href = url; a.download = m.filename;
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  },

  error(m) {
    if (state.weightPending) { state.weightPending = false; if (network.showError(m.message)) return; }
    showMessage(m.message);
  },
};

function number(v) {
  if (v === null || v === undefined) return "NaN";
  return Math.abs(v) >= 0.1 ? v.toFixed(3) : String(Number(v.toPrecision(3))); // 0.0412, 0.000412: plain numbers
}

function percent(v) {
  return v === null || v === undefined ? "–" : `${(100 * v).toFixed(1)} %`;
}

function showMessage(text) {
  $("message").textContent = text;
}

function setPlaying(playing) {
  state.playing = playing;
  $("play").classList.toggle("playing", playing);
  $("play").setAttribute("aria-label", playing ? "pause" : "play");
}

// Controls show what the server accepted; a control with an error keeps what the user typed.
function showSettings() {
  const s = state.settings, errors = state.errors;
  for (const key of FIELDS) {
    const error = $(`error-${key}`);
    if (error) error.textContent = errors[key] || "";
    const el = $(key);
    if (el) el.classList.toggle("bad", key in errors);
    if (key in errors || !el || state.editing.has(key)) continue; // never overwrite what the user is typing
    el.value = s[key];
  }
  for (const key of Object.keys(errors)) if (!FIELDS.includes(key)) showMessage(`${key}: ${errors[key]}`);
  $("train-ratio-value").textContent = s["train-ratio"];
  $("noise-value").textContent = s.noise;
  const regression = s.dataset === "sine";
  const chosen = s.features.split(",");
  for (const name of FEATURE_NAMES) {
    const box = $(`feature-${name}`);
    if (!("features" in errors)) box.checked = chosen.includes(name);
    const usable = !(regression && name.includes("2"));
    box.disabled = !usable;
    box.closest(".feature").classList.toggle("unavailable", !usable);
    box.closest(".feature").classList.toggle("on", box.checked && usable);
  }
  $("classes").disabled = !["spiral", "gauss", "custom"].includes(s.dataset);
  const hidden = s.hidden ? s.hidden.split(",").length : 0;
  $("layer-count").textContent = `${hidden} hidden layer${hidden === 1 ? "" : "s"}`;
  writeFragment({ ...s, ...Object.fromEntries(VIEW.filter((k) => $(k).checked).map((k) => [k, "1"])) });
}

// --- from the user -----------------------------------------------------------------------------

function wireControls() {
  for (const key of ["lr", "momentum", "reg-rate", "batch-size", "seed", "hidden", "activation", "regularization", "speed", "dataset", "classes"]) {
    $(key).addEventListener("input", () => state.editing.add(key));
    $(key).addEventListener("change", () => {
      state.editing.delete(key);
      if (key === "dataset") state.pending = null;
      set({ [key]: $(key).value });
    });
  }
  for (const key of ["train-ratio", "noise"]) {
    $(key).addEventListener("input", () => { $(`${key}-value`).textContent = $(key).value; });
    $(key).addEventListener("change", () => set({ [key]: $(key).value }));
  }
  for (const name of FEATURE_NAMES) {
    $(`feature-${name}`).addEventListener("change", () => {
      set({ features: FEATURE_NAMES.filter((n) => $(`feature-${n}`).checked && !$(`feature-${n}`).disabled).join(",") });
    });
  }
  $("play").addEventListener("click", () => send({ type: state.playing ? "pause" : "play" }));
  $("step").addEventListener("click", () => send({ type: "step" }));
  $("reset").addEventListener("click", () => send({ type: "reset" }));
  $("reseed").addEventListener("click", () => set({ seed: String(Math.floor(Math.random() * 100000)) }));
  $("add-layer").addEventListener("click", () => {
    const hidden = currentHidden();
    hidden.push(hidden.length ? hidden[hidden.length - 1] : 4);
    set({ hidden: hidden.join(",") });
  });
  $("remove-layer").addEventListener("click", () => set({ hidden: currentHidden().slice(0, -1).join(",") }));
  $("export-weights").addEventListener("click", () => send({ type: "export", what: "weights" }));
  $("export-python").addEventListener("click", () => send({ type: "export", what: "python" }));
  $("graph-refresh").addEventListener("click", () => send({ type: "graph" }));
  $("graph").addEventListener("click", () => $("graph").classList.toggle("natural"));
  for (const key of VIEW) {
    $(key).addEventListener("change", () => {
      boundary.showTest = $("show-test").checked;
      boundary.discretize = $("discretize").checked;
      boundary.draw();
      if (state.settings) showSettings();
    });
  }
  wireDrawing();
}

function currentHidden() {
  const text = state.settings ? state.settings.hidden : "";
  return text ? text.split(",").map(Number) : [];
}

function ownPoints() {
  if (state.pending) return state.pending;
  return state.settings && state.settings.dataset === "custom" && state.data ? [...state.data.train, ...state.data.test] : [];
}

function sendPoints(points) {
  const most = Math.max(1, ...points.map((p) => p[2]));
  const classes = Math.max(Number(state.settings.classes), most + 1);
  set({ dataset: "custom", points: points.map(([x, y, c]) => [round(x), round(y), c]), classes: String(classes) });
}

function wireDrawing() {
  const canvas = $("boundary");
  $("draw").addEventListener("click", () => {
    state.drawing = !state.drawing;
    $("draw").setAttribute("aria-pressed", String(state.drawing));
    canvas.classList.toggle("drawing", state.drawing);
    if (state.drawing) {
      state.pending = ownPoints();
      boundary.pending = state.pending;
      boundary.draw();
      $("error-points").textContent = state.pending.length ? "" : "click on the output to add points of the chosen class";
    } else {
      state.pending = null;
      boundary.pending = null;
      boundary.draw();
    }
  });
  canvas.addEventListener("click", (e) => {
    if (!state.drawing || !state.data || state.data.regression && state.settings.dataset !== "custom") {
      if (state.drawing && state.data.regression) $("error-points").textContent = "your own points are for classification: pick another data set first";
      return;
    }
    const r = canvas.getBoundingClientRect();
    const [x, y] = boundary.toData(e.clientX - r.left, e.clientY - r.top);
    const points = state.pending || [];
    if (e.shiftKey) {
      const i = nearest(points, x, y);
      if (i >= 0) points.splice(i, 1);
    } else {
      points.push([x, y, Number($("draw-class").value)]);
    }
    state.pending = points;
    boundary.pending = points;
    boundary.draw();
    sendPoints(points);
  });
  $("clear-points").addEventListener("click", () => {
    state.pending = [];
    boundary.pending = state.drawing ? state.pending : null;
    boundary.draw();
    if (state.settings && state.settings.dataset === "custom") $("error-points").textContent = "draw or upload at least 4 points first";
  });
  $("upload").addEventListener("change", async () => {
    const file = $("upload").files[0];
    if (!file) return;
    try {
      const points = parseCsv(await file.text());
      state.pending = null;
      boundary.pending = null;
      sendPoints(points);
    } catch (err) {
      $("error-points").textContent = err.message;
    }
    $("upload").value = "";
  });
}

// --- the connection ----------------------------------------------------------------------------

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws`);
  state.socket = socket;
  socket.addEventListener("open", () => {
    $("connection").textContent = "connected";
    $("connection").className = "connection ok";
  });
  socket.addEventListener("message", (e) => {
    const message = JSON.parse(e.data);
    const handler = handlers[message.type];
    if (handler) handler(message);
  });
  socket.addEventListener("close", () => {
    $("connection").textContent = "disconnected: reload the page";
    $("connection").className = "connection lost";
    setPlaying(false);
  });
}

// Links are laid out from the squares' positions: lay them out again when the window changes size.
window.addEventListener("resize", () => {
  if (!state.frame) return;
  network.key = "";
  network.build(state.frame.sizes, state.frame.inputs, state.frame.regression);
  network.update(state.frame);
});
// The server trains for as long as the page is open: close the socket when the page goes away.
window.addEventListener("pagehide", () => state.socket && state.socket.close());
window.addEventListener("hashchange", () => {
  const wanted = Object.fromEntries(Object.entries(readFragment()).filter(([k]) => FIELDS.includes(k)));
  const same = state.settings && Object.entries(wanted).every(([k, v]) => state.settings[k] === v);
  if (!same) set(wanted, true);
});
// For the browser console (and the browser tests): what the page knows, read-only by convention.
window.playground = { state, history };
wireControls();
connect();
