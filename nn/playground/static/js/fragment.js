// The page's whole set-up lives in the URL fragment: #dataset=spiral&hidden=8,8&…, so a link reproduces it.
const KEEP = { "%2C": ",", "%3A": ":", "%3B": ";" };

export function readFragment() {
  const params = new URLSearchParams(window.location.hash.replace(/^#/, ""));
  const out = {};
  for (const [k, v] of params) out[k] = v;
  return out;
}

export function writeFragment(values) {
  const text = Object.entries(values)
    .filter(([k, v]) => v !== undefined && v !== null && !(k === "points" && v === ""))  // hidden= means no layer
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v).replace(/%2C|%3A|%3B/g, (m) => KEEP[m])}`)
    .join("&");
  const hash = "#" + text;
  if (window.location.hash !== hash) history.replaceState(null, "", hash);
}
