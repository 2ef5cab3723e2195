import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { SourceItem } from '../import-users.ts';

/**
 * Latch's own format: one JSON object per line (see README, "Importing users"), read with
 * readline so only the current line is in memory. Blank lines are skipped.
 */
export async function* readJsonl(input: Readable): AsyncGenerator<SourceItem> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line++;
    if (text.trim() === '') continue;
    let record: unknown;
    try {
      record = JSON.parse(text);
    } catch {
      // Not JSON.parse's message: it quotes the text around the error, which may be a secret.
      yield { line, error: 'not valid JSON' };
      continue;
    }
    if (typeof record !== 'object' || record === null || Array.isArray(record)) yield { line, error: 'not a JSON object' };
    else yield { line, record };
  }
}
