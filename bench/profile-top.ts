/**
 * The top entries of a V8 CPU profile (`BENCH_PROFILE=1 npm run bench` writes Latch's and the
 * reference's to bench/.profiles/): self time per function, and the share of time idle (the event
 * loop waiting). With --packages: the samples of the time not idle, by package (Latch's own code,
 * each npm package, Node's internals by module), to set Latch's profile beside the reference's.
 * Usage: npx tsx bench/profile-top.ts bench/.profiles/<file>.cpuprofile [N=20] [--packages]
 */
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

const args = process.argv.slice(2);
const byPackage = args.includes('--packages');
const [file, n = '20'] = args.filter((arg) => arg !== '--packages');
if (!file) throw new Error('usage: profile-top.ts <file.cpuprofile> [N] [--packages]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[] };
const hits = new Map<number, number>();
for (const sample of profile.samples) hits.set(sample, (hits.get(sample) ?? 0) + 1);
const counts = new Map<string, number>();
let total = 0;
for (const node of profile.nodes) {
  const count = hits.get(node.id) ?? 0;
  if (count === 0) continue;
  if (byPackage && node.callFrame.functionName === '(idle)') continue;
  total += count;
  const key = byPackage ? packageOf(node.callFrame) : functionOf(node.callFrame);
  counts.set(key, (counts.get(key) ?? 0) + count);
}
console.log(byPackage ? `${total} samples not idle, by package` : `${total} samples`);
for (const [name, count] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, Number(n))) {
  console.log(`${((100 * count) / total).toFixed(1).padStart(5)} %  ${name}`);
}

function functionOf(frame: ProfileNode['callFrame']): string {
  const url = frame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(src|bench)\//, '$1/');
  return `${frame.functionName || '(anonymous)'}  ${url}${url ? `:${frame.lineNumber + 1}` : ''}`;
}

/** An npm package (scoped ones whole), `node:<module>`, `latch` for the server's own code, else the V8 entry ((garbage collector), writev…). */
function packageOf(frame: ProfileNode['callFrame']): string {
  const { url } = frame;
  if (url.includes('node_modules/')) {
    const parts = url.slice(url.lastIndexOf('node_modules/') + 'node_modules/'.length).split('/');
    return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
  }
  if (url.startsWith('node:')) return `node:${url.slice(5).replace(/^internal\//, '').split('/')[0]}`;
  if (url.includes('/dist/') || url.includes('/src/') || url.endsWith('server.mjs')) return url.endsWith('server.mjs') ? 'the reference (server.mjs)' : 'latch';
  return frame.functionName || '(anonymous)';
}
