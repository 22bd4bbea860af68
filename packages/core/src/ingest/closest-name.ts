/**
 * The one name of `names` that `name` is most likely a slip for: the same but for case, else one
 * or two letters off (fewer than a third of the name: "id" is not a slip for "mrn"). Null when
 * there is none, or several. Used to say "did you mean" of a delivery's column and manifest keys.
 */
export function closestName(name: string, names: readonly string[]): string | null {
  const sameButCase = names.filter((n) => n.toLowerCase() === name.toLowerCase());
  if (sameButCase.length > 0) {
    return sameButCase.length === 1 ? (sameButCase[0] ?? null) : null;
  }
  const most = Math.min(2, Math.floor(name.length / 3));
  const near = names.filter((n) => editDistance(name.toLowerCase(), n.toLowerCase()) <= most);
  return near.length === 1 ? (near[0] ?? null) : null;
}

/**
 * The fewest insertions, deletions, substitutions and swaps of two neighbours from a to b
 * (Damerau–Levenshtein, optimal string alignment): `flies` is one slip from `files`.
 */
function editDistance(a: string, b: string): number {
  const rows: number[][] = [Array.from({ length: b.length + 1 }, (_, j) => j)];
  for (let i = 1; i <= a.length; i += 1) {
    const row = [i];
    for (let j = 1; j <= b.length; j += 1) {
      const at = (r: number, c: number) => rows[r]?.[c] ?? row[c] ?? 0;
      let best = Math.min(
        at(i - 1, j) + 1,
        (row[j - 1] ?? 0) + 1,
        at(i - 1, j - 1) + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, at(i - 2, j - 2) + 1);
      }
      row.push(best);
    }
    rows.push(row);
  }
  return rows[a.length]?.[b.length] ?? 0;
}
