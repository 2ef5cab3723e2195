import type { OpenAPIHono } from '@hono/zod-openapi';
import type { AppEnv } from '../context.ts';

const OPENAPI_INFO = {
  openapi: '3.1.0',
  info: {
    title: 'Latch',
    version: '0.1.0',
    description: 'Passkey-first authentication with a TOTP fallback. State-changing requests are same-origin application/json.',
  },
};

/** `/openapi.json` from the same zod schemas the routes validate with, and `/api-docs`, a readable page of it. */
export function mountApiDocs(app: OpenAPIHono<AppEnv>): void {
  app.doc31('/openapi.json', OPENAPI_INFO);
  app.get('/api-docs', (c) => {
    const document = app.getOpenAPI31Document(OPENAPI_INFO);
    const rows: string[] = [];
    for (const [path, operations] of Object.entries(document.paths ?? {})) {
      for (const [method, operation] of Object.entries(operations as Record<string, { summary?: string; tags?: string[] }>)) {
        rows.push(
          `<tr><td>${escapeHtml(operation.tags?.join(', ') ?? '')}</td><td><code>${method.toUpperCase()}</code></td><td><code>${escapeHtml(path)}</code></td><td>${escapeHtml(operation.summary ?? '')}</td></tr>`,
        );
      }
    }
    return c.html(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Latch API</title><link rel="stylesheet" href="/styles.css"></head>
<body><main class="docs"><h1>Latch API</h1>
<p>The machine-readable description is at <a href="/openapi.json">/openapi.json</a>. Errors are <code>{"error": {"code", "message"}}</code>.</p>
<table><thead><tr><th>Area</th><th>Method</th><th>Path</th><th>What it does</th></tr></thead><tbody>
${rows.join('\n')}
</tbody></table></main></body></html>`);
  });
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
