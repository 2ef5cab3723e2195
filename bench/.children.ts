import { readFileSync } from 'node:fs';
const [file, target, depthArg] = process.argv.slice(2);
const p = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(p.nodes.map((n: any) => [n.id, n]));
const hits = new Map<number, number>();
for (const s of p.samples) hits.set(s, (hits.get(s) ?? 0) + 1);
let busy = 0; for (const [id, h] of hits) if ((byId.get(id) as any).callFrame.functionName !== '(idle)') busy += h;
const total = (n: any): number => (hits.get(n.id) ?? 0) + (n.children ?? []).reduce((a: number, c: number) => a + total(byId.get(c)), 0);
const agg = new Map<string, number>();
const maxDepth = Number(depthArg ?? 1);
function walk(n: any, depth: number, prefix: string) {
  for (const c of n.children ?? []) { const cn: any = byId.get(c); const key = prefix + ' > ' + cn.callFrame.functionName + ':' + cn.callFrame.lineNumber + ' ' + cn.callFrame.url.replace(/.*node_modules\//, '').replace(/.*dist\//, ''); agg.set(key, (agg.get(key) ?? 0) + total(cn)); if (depth < maxDepth) walk(cn, depth + 1, key); }
  const self = hits.get(n.id) ?? 0; if (self) agg.set(prefix + ' (self)', (agg.get(prefix + ' (self)') ?? 0) + self);
}
for (const n of p.nodes) if (n.callFrame.functionName === target) walk(n, 1, target);
for (const [k, v] of [...agg].sort((a, b) => b[1] - a[1]).slice(0, 40)) console.log((100 * v / busy).toFixed(2).padStart(6), k);
