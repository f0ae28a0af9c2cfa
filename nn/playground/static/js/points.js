// Your own data: points drawn by clicking on the output view, or read from a CSV file of x1, x2, class.

// Rows of three numbers (x1, x2, integer class); header and blank lines are skipped.
export function parseCsv(text) {
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
    if (!Number.isInteger(values[2])) throw new Error(`line ${n + 1}: the class must be a whole number, got ${cells[2]}`);
    points.push(values);
  }
  if (!points.length) throw new Error("the file holds no points (rows x1, x2, class)");
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
