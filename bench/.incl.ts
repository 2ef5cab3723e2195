import { readFileSync } from 'node:fs';
const [file, ...names] = process.argv.slice(2);
const p = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(p.nodes.map((n: any) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const hits = new Map<number, number>();
for (const s of p.samples) hits.set(s, (hits.get(s) ?? 0) + 1);
let busy = 0; const incl = new Map<string, number>();
for (const [id, h] of hits) {
  const n: any = byId.get(id); if (n.callFrame.functionName === '(idle)') continue; busy += h;
  const seen = new Set<string>(); let cur: number | undefined = id;
  while (cur !== undefined) { const f: any = byId.get(cur); const key = `${f.callFrame.functionName} ${f.callFrame.url.replace(/.*node_modules\//, '').replace(/.*dist\//,'')}:${f.callFrame.lineNumber}`; if (!seen.has(key)) { seen.add(key); incl.set(key, (incl.get(key) ?? 0) + h); } cur = parent.get(cur); }
}
const top = [...incl].sort((a, b) => b[1] - a[1]).slice(0, Number(names[0] ?? 80));
console.log('busy samples', busy);
for (const [k, v] of top) console.log((100 * v / busy).toFixed(1).padStart(5), k);
