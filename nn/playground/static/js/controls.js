// The controls: each sends its value to the server when changed; each shows what the server accepted,
// or, next to it, why not. What the server checks is said once, in the server. `$` looks up the
// page's elements by id in one playground's root (dom.js).
import { writeFragment } from "./fragment.js";

export const VIEW = ["show-test", "discretize"]; // the page's own options, kept in the fragment too
const TYPED = ["lr", "momentum", "reg-rate", "batch-size", "seed", "hidden"];
const CHOSEN = ["activation", "optimizer", "dropout", "regularization", "speed", "dataset", "classes"];

export function featureBoxes($) {
  return $.all(".feature input[type=checkbox]");
}

// Merge a settings reply: the values it was given lose their old errors and take the new ones.
export function takeErrors(state, reply) {
  for (const key of reply.given || []) delete state.errors[key];
  Object.assign(state.errors, reply.errors);
}

// Controls show what the server accepted; a control with an error shows the value it refused.
export function showSettings(state, $) {
  const s = state.settings, errors = state.errors, hello = state.hello;
  for (const key of hello.fields) {
    const error = $(`error-${key}`);
    if (error) error.textContent = errors[key] || "";
    const el = $(key);
    if (!el) continue;
    el.classList.toggle("bad", key in errors);
    if (state.editing.has(key)) continue; // never overwrite what the user is typing
    el.value = key in errors && key in state.sent ? state.sent[key] : s[key];
  }
  const stray = Object.keys(errors).filter((k) => !hello.fields.includes(k));
  if (stray.length) $("message").textContent = stray.map((k) => `${k}: ${errors[k]}`).join("; ");
  $("train-ratio-value").textContent = s["train-ratio"];
  $("noise-value").textContent = s.noise;
  const regression = hello.regression.includes(s.dataset);
  const chosen = s.features.split(",");
  for (const box of featureBoxes($)) {
    const name = box.closest(".feature").dataset.feature;
    // what trains, also when a click was refused (the last feature unchecked); but an answer to an
    // earlier click must not undo a later one still on its way
    if (!state.featuresInFlight) box.checked = chosen.includes(name);
    const usable = !regression || hello.one_input.includes(name);
    box.disabled = !usable;
    box.closest(".feature").classList.toggle("unavailable", !usable);
    box.closest(".feature").classList.toggle("on", box.checked && usable);
  }
  $("classes").disabled = !hello.multiclass.includes(s.dataset);
  $("discretize").disabled = regression;
  $("momentum").disabled = !["sgd", "rmsprop"].includes(s.optimizer); // the others have none
  const hidden = s.hidden ? s.hidden.split(",").length : 0;
  $("layer-count").textContent = `${hidden} hidden layer${hidden === 1 ? "" : "s"}`;
  if (state.fragment) writeFragment({ ...s, ...Object.fromEntries(VIEW.filter((k) => $(k).checked).map((k) => [k, "1"])) });
}

// ctx: { $, state, set(values), send(message), currentHidden(), onDataset(), onView(), graph }
export function wireControls(ctx) {
  const { $, state, set, send } = ctx;
  for (const key of TYPED) $(key).addEventListener("input", () => state.editing.add(key));
  for (const key of [...TYPED, ...CHOSEN]) {
    $(key).addEventListener("change", () => {
      state.editing.delete(key);
      if (key === "dataset") ctx.onDataset();
      set({ [key]: $(key).value });
    });
  }
  for (const key of ["train-ratio", "noise"]) {
    $(key).addEventListener("input", () => { $(`${key}-value`).textContent = $(key).value; });
    $(key).addEventListener("change", () => set({ [key]: $(key).value }));
  }
  for (const box of featureBoxes($)) {
    // the disabled ones too: the sine ignores x₂'s features but keeps them for the next data set
    box.addEventListener("change", () => {
      set({ features: featureBoxes($).filter((b) => b.checked).map((b) => b.closest(".feature").dataset.feature).join(",") });
    });
  }
  $("play").addEventListener("click", () => send({ type: state.playing ? "pause" : "play" }));
  $("step").addEventListener("click", () => send({ type: "step" }));
  $("reset").addEventListener("click", () => send({ type: "reset" }));
  $("reseed").addEventListener("click", () => set({ seed: String(Math.floor(Math.random() * 100000)) }));
  $("add-layer").addEventListener("click", () => {
    const hidden = ctx.currentHidden();
    hidden.push(hidden.length ? hidden[hidden.length - 1] : 4);
    set({ hidden: hidden.join(",") });
  });
  $("remove-layer").addEventListener("click", () => set({ hidden: ctx.currentHidden().slice(0, -1).join(",") }));
  $("export-weights").addEventListener("click", () => send({ type: "export", what: "weights" }));
  $("export-python").addEventListener("click", () => send({ type: "export", what: "python" }));
  $("graph-refresh").addEventListener("click", () => send({ type: "graph" }));
  $("graph-zoom-in").addEventListener("click", () => ctx.graph.zoom(1.25));
  $("graph-zoom-out").addEventListener("click", () => ctx.graph.zoom(1 / 1.25));
  $("graph-fit").addEventListener("click", () => ctx.graph.fit());
  $("graph-actual").addEventListener("click", () => ctx.graph.actual());
  for (const key of VIEW) $(key).addEventListener("change", () => ctx.onView());
}
