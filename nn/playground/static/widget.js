// The playground as a Jupyter widget (anywidget): the page's own modules, training in the kernel.
// The modules come from the Python package as text and are loaded as ES modules from blob URLs, each
// import of "./name.js" pointing at its module's URL: no CDN, no build step, the page's code unchanged.
function load(modules, order) {
  const urls = {};
  for (const name of order) {
    const source = modules[name].replace(/from "\.\/([\w-]+\.js)"/g, (_, dep) => `from "${urls[dep]}"`);
    urls[name] = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
  }
  return import(urls["app.js"]);
}

export default {
  async render({ model, el }) {
    const root = document.createElement("div");
    root.className = "autodiff-playground";
    root.innerHTML = model.get("_html");
    el.append(root);
    const app = await load(model.get("_modules"), model.get("_order"));
    const transport = {
      send: (message) => model.send(message),
      listen(ctx) {
        const onMessage = (message) => ctx.receive(message);
        model.on("msg:custom", onMessage);
        ctx.connected(true, "connected");
        model.send({ type: "ready" }); // the kernel answers with everything the page needs
        transport.close = () => model.off("msg:custom", onMessage);
      },
      close() {},
    };
    app.start(transport, { fragment: false });
    return () => transport.close();
  },
};
