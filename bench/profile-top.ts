/**
 * The top entries of a V8 CPU profile (`BENCH_PROFILE=1 npm run bench` writes them to
 * bench/.profiles/): self time per function, and the share of time idle (the event loop waiting).
 * Usage: npx tsx bench/profile-top.ts bench/.profiles/<file>.cpuprofile [N=20]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

const [file, n = '20'] = process.argv.slice(2);
if (!file) throw new Error('usage: profile-top.ts <file.cpuprofile> [N]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[] };
const hits = new Map<number, number>();
for (const sample of profile.samples) hits.set(sample, (hits.get(sample) ?? 0) + 1);
const byFunction = new Map<string, number>();
let total = 0;
for (const node of profile.nodes) {
  const count = hits.get(node.id) ?? 0;
  if (count === 0) continue;
  total += count;
  const url = node.callFrame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(src|bench)\//, '$1/');
  const name = `${node.callFrame.functionName || '(anonymous)'}  ${url}${url ? `:${node.callFrame.lineNumber + 1}` : ''}`;
  byFunction.set(name, (byFunction.get(name) ?? 0) + count);
}
console.log(`${total} samples`);
for (const [name, count] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, Number(n))) {
  console.log(`${((100 * count) / total).toFixed(1).padStart(5)} %  ${name}`);
}
