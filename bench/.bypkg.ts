import { readFileSync } from 'node:fs';
const p = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const byId = new Map(p.nodes.map((n: any) => [n.id, n]));
const hits = new Map<number, number>();
for (const s of p.samples) hits.set(s, (hits.get(s) ?? 0) + 1);
const agg = new Map<string, number>(); let busy = 0;
for (const [id, h] of hits) { const n: any = byId.get(id); if (n.callFrame.functionName === '(idle)') continue; busy += h;
  const url: string = n.callFrame.url; let k = url.includes('node_modules/') ? url.replace(/.*node_modules\//, '').split('/').slice(0, url.includes('node_modules/@') ? 2 : 1).join('/') : url.startsWith('node:') ? 'node:' + url.slice(5).split('/').slice(0,2).join('/') : url.includes('dist/main') ? 'latch' : (n.callFrame.functionName || url || '?');
  agg.set(k, (agg.get(k) ?? 0) + h); }
for (const [k, v] of [...agg].sort((a, b) => b[1] - a[1]).slice(0, 30)) console.log((100 * v / busy).toFixed(1).padStart(5), k);
