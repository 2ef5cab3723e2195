import { domainToASCII } from 'node:url';

/** RFC 5321: a path is at most 256 octets with its brackets, so an address at most 254. */
export const MAX_EMAIL_LENGTH = 254;

const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const DOMAIN_LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;
const TOP_LEVEL = /^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$/;

/**
 * The address as stored, or null when it is not one we can mail: trimmed; a dot-atom local part
 * (no quoted strings, no comments: nothing a mail server would read two ways); a domain of at
 * least two labels, lower-cased and, if international, in its ASCII (punycode) form. The local
 * part keeps its case: only the receiving server may decide what it means.
 */
export function normalizeEmail(input: string): string | null {
  const value = input.trim().normalize('NFC');
  if (value.length > MAX_EMAIL_LENGTH) return null;
  const at = value.lastIndexOf('@');
  if (at < 1) return null;
  const local = value.slice(0, at);
  const domainInput = value.slice(at + 1);
  if (local.length > 64 || !LOCAL_PART.test(local)) return null;
  if (domainInput === '' || domainInput.includes('@')) return null;
  const domain = domainToASCII(domainInput.toLowerCase());
  if (!domain || domain.length > 253) return null;
  const labels = domain.split('.');
  if (labels.length < 2 || !labels.every((label) => DOMAIN_LABEL.test(label)) || !TOP_LEVEL.test(labels.at(-1)!)) return null;
  const address = `${local}@${domain}`;
  return address.length <= MAX_EMAIL_LENGTH ? address : null;
}

/** Two spellings of one mailbox as far as we can tell (the domain is case-free; most local parts are too). */
export function sameAddress(a: string | null, b: string | null): boolean {
  return a !== null && b !== null && a.toLowerCase() === b.toLowerCase();
}
