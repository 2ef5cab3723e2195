import { isIP } from 'node:net';

/**
 * The part of a client address a per-address rate limit counts against. One IPv6 subscriber
 * usually gets a whole /64 (and picks a new address in it at will — privacy extensions), so
 * counting single IPv6 addresses would give them 2^64 fresh counters. So:
 *
 * - IPv4: as is (`203.0.113.7`);
 * - IPv4-mapped IPv6 (`::ffff:203.0.113.7`, as a dual-stack socket reports IPv4 clients): the IPv4;
 * - IPv6: its /64 in canonical form (RFC 5952: lower case, no leading zeros, longest run of
 *   zero groups as `::`), e.g. `2001:db8:1:2::/64`; a zone id (`fe80::1%eth0`) is dropped;
 * - anything else (null, a header that is not an address): unchanged, `unknown` for null.
 */
export function addressBucket(address: string | null): string {
  if (address === null) return 'unknown';
  const trimmed = address.trim();
  if (isIP(trimmed) === 4) return trimmed;
  const withoutZone = trimmed.replace(/%.*$/, '');
  if (isIP(withoutZone) !== 6) return address;
  const groups = expandIPv6(withoutZone);
  // ::ffff:a.b.c.d — an IPv4 client on a dual-stack socket.
  if (groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff) {
    return [groups[6]! >> 8, groups[6]! & 0xff, groups[7]! >> 8, groups[7]! & 0xff].join('.');
  }
  return `${compressIPv6([...groups.slice(0, 4), 0, 0, 0, 0])}/64`;
}

/** The eight 16-bit groups of a valid IPv6 address (`::` expanded, a trailing dotted IPv4 turned into two groups). */
function expandIPv6(address: string): number[] {
  let text = address.toLowerCase();
  const dotted = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, null];
  const parse = (part: string | undefined) => (part ? part.split(':').map((group) => parseInt(group, 16)) : []);
  const left = parse(head);
  if (tail === null) return left;
  const right = parse(tail);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/** RFC 5952 text of eight groups. */
function compressIPv6(groups: number[]): string {
  // The longest run of two or more zero groups (the first, on a tie) becomes `::`.
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < 8; ) {
    if (groups[start] !== 0) {
      start++;
      continue;
    }
    let end = start;
    while (end < 8 && groups[end] === 0) end++;
    if (end - start > bestLength) {
      bestStart = start;
      bestLength = end - start;
    }
    start = end;
  }
  const hex = groups.map((group) => group.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
