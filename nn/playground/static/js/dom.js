// The page's elements by their ids, within one root: the page's document, or one widget's div in a
// notebook. A notebook may show several playgrounds (or one twice), so there every id of the root takes
// the view's own prefix: ids, a label's `for` and an input's `list` are looked up in the whole document,
// and two views' ids must never meet.
export function scope(root = document, prefix = "") {
  if (prefix) {
    for (const el of root.querySelectorAll("[id]")) el.id = prefix + el.id;
    for (const el of root.querySelectorAll("label[for]")) el.htmlFor = prefix + el.htmlFor;
    for (const el of root.querySelectorAll("input[list]")) el.setAttribute("list", prefix + el.getAttribute("list"));
    root.dataset.prefix = prefix;
  }
  const $ = (id) => root.querySelector(`#${CSS.escape(prefix + id)}`);
  $.root = root;
  $.id = (id) => prefix + id; // the id of an element made later
  $.all = (selector) => [...root.querySelectorAll(selector)];
  return $;
}
