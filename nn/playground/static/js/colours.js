// The TensorFlow playground's colours: orange for negative values and class 0, blue for positive and class 1.
export const NEG = [245, 147, 34];
export const POS = [8, 119, 189];
export const CLASS_COLOURS = [NEG, POS, [44, 160, 44], [148, 103, 189], [214, 39, 40], [140, 86, 75]];
const WHITE = [255, 255, 255];

export function css([r, g, b]) {
  return `rgb(${r},${g},${b})`;
}

// White blended towards `colour` by `a` in [0, 1].
export function blend(colour, a) {
  return colour.map((c, i) => Math.round(WHITE[i] + (c - WHITE[i]) * a));
}

// A byte 0…255 standing for a value in [-1, 1]: orange below 0, white at 0, blue above.
export function diverging(byte) {
  const v = byte / 127.5 - 1;
  return v < 0 ? blend(NEG, -v) : blend(POS, v);
}

export function decode(b64) {
  const text = atob(b64);
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

// Paint a size × size canvas from bytes, each through `colour(byte, index)` → [r, g, b].
export function paint(canvas, bytes, size, colour) {
  if (canvas.width !== size) { canvas.width = size; canvas.height = size; }
  const ctx = canvas.getContext("2d");
  const image = ctx.createImageData(size, size);
  for (let i = 0; i < size * size; i++) {
    const [r, g, b] = colour(bytes[i], i);
    image.data[4 * i] = r; image.data[4 * i + 1] = g; image.data[4 * i + 2] = b; image.data[4 * i + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
}
