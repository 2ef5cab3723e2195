import type { Readable } from 'node:stream';
import { StringDecoder } from 'node:string_decoder';

/**
 * Yields the elements of one array member of a top-level JSON object (`{"users": [ {...}, ... ]}`)
 * as they stream past, each element's text with the line it starts on — so a realm export of any
 * size is read one user at a time (Node has no streaming JSON parser built in, and none is
 * installed). Everything outside that array is scanned and dropped. Each element is then parsed
 * with JSON.parse by the caller.
 */
export async function* streamArrayMember(input: Readable, member: string): AsyncGenerator<{ line: number; text: string }> {
  const decoder = new StringDecoder('utf8');
  let line = 1;
  let depth = 0;
  let inString = false;
  let escaped = false;
  /** The text of the string being read at depth 1 (a key of the top-level object). */
  let stringText = '';
  let lastKey: string | null = null;
  /** Depth of the array we want, once entered; -1 outside it. */
  let arrayDepth = -1;
  let element: string[] | null = null;
  let elementLine = 0;
  let elementStart = 0;

  for await (const raw of input as AsyncIterable<string | Buffer>) {
    const chunk = typeof raw === 'string' ? raw : decoder.write(raw);
    elementStart = 0;
    for (let i = 0; i < chunk.length; i++) {
      const char = chunk[i]!;
      if (char === '\n') line++;
      if (inString) {
        if (escaped) escaped = false;
        else if (char === '\\') escaped = true;
        else if (char === '"') inString = false;
        if (depth === 1 && inString) stringText += char;
        else if (depth === 1 && !inString) lastKey = stringText;
        continue;
      }
      switch (char) {
        case '"':
          inString = true;
          if (depth === 1) stringText = '';
          break;
        case '{':
        case '[':
          depth++;
          if (char === '[' && depth === 2 && lastKey === member && arrayDepth === -1) arrayDepth = depth;
          else if (arrayDepth !== -1 && depth === arrayDepth + 1 && element === null) {
            element = [];
            elementLine = line;
            elementStart = i;
          }
          break;
        case '}':
        case ']':
          depth--;
          if (element !== null && depth === arrayDepth) {
            element.push(chunk.slice(elementStart, i + 1));
            yield { line: elementLine, text: element.join('') };
            element = null;
          } else if (arrayDepth !== -1 && depth < arrayDepth) {
            arrayDepth = -2; // done with the array; the rest of the file is scanned only
          }
          break;
        case ',':
          if (depth === 1) lastKey = null;
          break;
      }
    }
    if (element !== null) element.push(chunk.slice(elementStart));
  }
  if (depth !== 0 || inString) throw new SyntaxError('the file ends in the middle of a JSON value');
}
