// The playground as a Jupyter widget (anywidget): the page's own modules, training in the kernel.
// The modules come from the Python package as text and are loaded as ES modules from blob URLs, each
// import of "./name.js" pointing at its module's URL: no CDN, no build step, the page's code unchanged.
// Each view is a playground of its own: its markup in its own div, its ids with its own prefix (a
// notebook may show several playgrounds, or one twice), its own state.
function load(modules, order) {
  const urls = {};
  for (const name of order) {
    const source = modules[name].replace(/from "\.\/([\w-]+\.js)"/g, (_, dep) => `from "${urls[dep]}"`);
    urls[name] = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  }
  return import(urls["app.js"]);
}

let views = 0; // for each view's prefix; a random part keeps two loads of this module apart too
const SALT = Math.random().toString(36).slice(2, 7);

export default {
  async render({ model, el }) {
    const root = document.createElement("div");
    root.className = "autodiff-playground";
    root.innerHTML = model.get("_html");
    el.append(root);
    // keys typed into its fields are the playground's, not JupyterLab's shortcuts (there Enter, which sends
    // a typed value, would only enter a cell's editor), as ipywidgets' own inputs do
    root.addEventListener("keydown", (e) => { if (e.target.closest("input, select, textarea")) e.stopPropagation(); });
    const app = await load(model.get("_modules"), model.get("_order"));
    views += 1;
    const view = `${SALT}-${views}`; // tells the kernel which view is ready, and which one is gone
    let onMessage = null;
    const transport = {
      send: (message) => model.send(message),
      listen(ctx) {
        onMessage = (message) => ctx.receive(message);
        model.on("msg:custom", onMessage);
        ctx.connected(true, "connected");
        model.send({ type: "ready", view }); // the kernel answers with everything the page needs
      },
      close() {
        if (onMessage) model.off("msg:custom", onMessage);
        onMessage = null;
      },
    };
    const playground = app.start(transport, { fragment: false, root, prefix: `pg${SALT}${views}-` });
    return () => { // the view taken away (output cleared, cell run again): the last one gone stops the training
      try {
        model.send({ type: "view-closed", view });
      } catch (e) {} // the widget itself gone (its kernel restarted): nothing is left to stop
      playground.stop();
    };
  },
};
