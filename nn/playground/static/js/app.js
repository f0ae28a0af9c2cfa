// The playground: the views and controls of the page, driven by messages from a training loop.
// The server owns the set-up and checks every value; the page shows what it accepted, and its
// errors next to the controls they belong to. `start(transport)` runs it over any transport: the
// page's WebSocket (main.js) or a Jupyter widget's comm (widget.js), with the same messages; each start
// has its own state and looks only into its own root (the document, or a widget's div).
import { Boundary } from "./boundary.js";
import { History, drawGradients, drawLoss } from "./charts.js";
import { CLASS_COLOURS, css } from "./colours.js";
import { VIEW, showSettings, takeErrors, wireControls } from "./controls.js";
import { scope } from "./dom.js";
import { readFragment } from "./fragment.js";
import { GraphView } from "./graph.js";
import { NetworkView } from "./network.js";
import { OwnPoints } from "./points.js";


function number(v) {
  if (v === null || v === undefined) return "NaN";
  return Math.abs(v) >= 0.1 ? v.toFixed(3) : String(Number(v.toPrecision(3))); // 0.0412, 0.000412: plain numbers
}

function percent(v) {
  return v === null || v === undefined ? "–" : `${(100 * v).toFixed(1)} %`;
}

// The page's transport: a WebSocket to the server that serves it.
export function websocket() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const socket = new WebSocket(`${scheme}://${location.host}/ws`);
  return {
    socket,
    send: (message) => { if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message)); },
    listen(ctx) {
      socket.addEventListener("open", () => ctx.connected(true, "connected"));
      socket.addEventListener("message", (e) => ctx.receive(JSON.parse(e.data)));
      socket.addEventListener("close", () => ctx.connected(false, "disconnected: reload the page"));
    },
    close: () => socket.close(),
  };
}

// Run the page over `transport` ({send(message), listen({connected, receive}), close()}) in `root`: the
// document (the page), or a widget's div whose ids take `prefix` (see dom.js). `fragment`: whether the
// set-up lives in the address (the page) or not (a notebook, whose address is JupyterLab's).
// Returns {stop()}: closes the transport and drops the listeners on the window and the document.
export function start(transport, { fragment = true, root = document, prefix = "" } = {}) {
  const $ = scope(root, prefix);
  const state = {
    socket: transport.socket || null, transport, fragment, hello: null, settings: null, errors: {}, playing: false, data: null, frame: null,
    pending: null, // points being drawn, before the server takes them
    weightPending: false,
    editing: new Set(), // text controls typed into but not yet sent
    featuresInFlight: 0, // feature sets sent and not yet answered: the boxes show the user's clicks till then
    sent: {}, // the last value sent for each control, to show a refused one in its control
  };
  const history = new History();
  const listening = new AbortController(); // the listeners outside the root, for stop()
  const { signal } = listening;

  function send(message) {
    transport.send(message);
  }

  // restart: start from fresh weights and an empty history even if nothing changed (a preset's click)
  function set(values, partial = false, restart = false) {
    Object.assign(state.sent, values);
    if ("features" in values) state.featuresInFlight += 1;
    send({ type: "set", settings: values, partial, restart });
  }

  const boundary = new Boundary($("boundary"));
  const network = new NetworkView($, {
    setHidden: (sizes) => set({ hidden: sizes.join(",") }),
    setWeight: (layer, to, from, value) => {
      state.weightPending = true;
      send({ type: "set_weight", layer, to, from, value });
    },
  }, signal);
  const own = new OwnPoints({ $, state, boundary, set: (values) => set(values) });
  const graphView = new GraphView($("graph"), $("graph-legend"), prefix);

  // A link's set-up: every setting it names, the defaults for the rest, and the view options.
  function applyFragment() {
    const fragment = readFragment();
    for (const key of VIEW) $(key).checked = fragment[key] === "1";
    viewChanged();
    const wanted = { ...state.hello.defaults };
    for (const [k, v] of Object.entries(fragment)) if (state.hello.fields.includes(k)) wanted[k] = v;
    set(wanted, true);
  }

  function viewChanged() {
    boundary.showTest = $("show-test").checked;
    boundary.discretize = $("discretize").checked;
    boundary.draw();
    if (state.settings) showSettings(state, $);
  }

  // --- from the server -------------------------------------------------------------------------

  const handlers = {
    hello(m) {
      state.hello = m;
      const box = $("presets");
      box.innerHTML = "";
      m.presets.forEach((p, i) => {
        const b = document.createElement("button");
        b.type = "button"; b.id = $.id(`preset-${i + 1}`); b.textContent = p.short; b.title = p.title;
        b.addEventListener("click", () => {
          for (const other of box.children) other.classList.toggle("active", other === b);
          const text = $("preset-text");
          text.innerHTML = "";
          const title = document.createElement("b");
          title.textContent = `${p.title}. `;
          text.append(title, p.text);
          own.stop();
          set(p.settings, false, true);
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
      $("points-limit").textContent = String(m.limits.points);
      if (state.fragment && window.location.hash.length > 1) applyFragment();
    },

    settings(m) {
      state.settings = m.settings;
      if ((m.given || []).includes("features")) state.featuresInFlight = Math.max(0, state.featuresInFlight - 1);
      takeErrors(state, m);
      showSettings(state, $);
    },

    data(m) {
      state.data = m;
      boundary.setData(m);
    },

    frame(m) {
      state.frame = m;
      history.add(m.rows);
      $("epoch").textContent = String(m.epoch);
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
      $("hint").textContent = m.hint || "";
      if (state.weightPending) { state.weightPending = false; network.closeEditor(); }
    },

    graph(m) {
      graphView.show(m);
      $("explain").textContent = m.explain;
    },

    status(m) {
      setPlaying(m.playing);
      showMessage(m.diverged || "");
    },

    reset() {
      history.clear();
      $("hint").textContent = "";
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

  function showMessage(text) {
    $("message").textContent = text;
  }

  function setPlaying(playing) {
    state.playing = playing;
    $("play").classList.toggle("playing", playing);
    $("play").setAttribute("aria-label", playing ? "pause" : "play");
  }

  // --- the connection --------------------------------------------------------------------------

  function connected(ok, text) {
    $("connection").textContent = text;
    $("connection").className = ok ? "connection ok" : "connection lost";
    if (!ok) setPlaying(false);
  }

  function receive(message) {
    const handler = handlers[message.type];
    if (handler) handler(message);
  }

  wireControls({
    $, state, set, send,
    currentHidden: () => (state.settings && state.settings.hidden ? state.settings.hidden.split(",").map(Number) : []),
    onDataset: () => own.stop(),
    onView: viewChanged,
    graph: graphView,
  });
  // Links are laid out from the squares' positions: lay them out again when the window changes size.
  window.addEventListener("resize", () => {
    if (!state.frame) return;
    network.key = "";
    network.build(state.frame.sizes, state.frame.inputs, state.frame.regression);
    network.update(state.frame);
  }, { signal });
  // The server trains for as long as the page is open: close the socket when the page goes away.
  window.addEventListener("pagehide", () => transport.close(), { signal });
  window.addEventListener("hashchange", () => {
    if (!state.hello || !state.fragment) return;
    const fragment = readFragment();
    const same = state.settings && state.hello.fields.every((k) => (fragment[k] ?? state.hello.defaults[k]) === state.settings[k]);
    if (same) {
      for (const key of VIEW) $(key).checked = fragment[key] === "1";
      viewChanged();
    } else {
      applyFragment();
    }
  }, { signal });
  // For the browser console (and the browser tests): what the page knows, read-only by convention;
  // window.playground on the page, the root's own `playground` in a widget (a notebook may hold several).
  (root === document ? window : root).playground = { state, history, graphView };
  transport.listen({ connected, receive });
  return {
    stop() {
      listening.abort();
      transport.close();
    },
  };
}
