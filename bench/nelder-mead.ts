/** Nelder–Mead minimisation (reflect, expand, contract, shrink), for the perf model's calibrations. */
export function nelderMead(f: (x: number[]) => number, x0: number[], iterations = 4000): number[] {
  let simplex = [x0, ...x0.map((_, i) => x0.map((v, j) => (i === j ? v * 1.2 : v)))].map((x) => ({ x, f: f(x) }));
  const combine = (a: number[], b: number[], t: number) => a.map((v, i) => v + t * (b[i]! - v));
  for (let it = 0; it < iterations; it++) {
    simplex.sort((a, b) => a.f - b.f);
    const worst = simplex[simplex.length - 1]!;
    const centroid = x0.map((_, i) => simplex.slice(0, -1).reduce((s, p) => s + p.x[i]!, 0) / (simplex.length - 1));
    const reflected = combine(centroid, worst.x, -1);
    const fr = f(reflected);
    if (fr < simplex[0]!.f) {
      const expanded = combine(centroid, worst.x, -2);
      const fe = f(expanded);
      simplex[simplex.length - 1] = fe < fr ? { x: expanded, f: fe } : { x: reflected, f: fr };
    } else if (fr < simplex[simplex.length - 2]!.f) {
      simplex[simplex.length - 1] = { x: reflected, f: fr };
    } else {
      const contracted = combine(centroid, worst.x, 0.5);
      const fc = f(contracted);
      if (fc < worst.f) simplex[simplex.length - 1] = { x: contracted, f: fc };
      else simplex = simplex.map((p, i) => (i === 0 ? p : { x: combine(simplex[0]!.x, p.x, 0.5), f: 0 })).map((p) => ({ x: p.x, f: f(p.x) }));
    }
  }
  simplex.sort((a, b) => a.f - b.f);
  return simplex[0]!.x;
}
