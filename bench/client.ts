import http from 'node:http';

/**
 * A minimal keep-alive HTTP client for the load generator: the same code drives Latch and the
 * reference, so neither gets a faster client. Cookies are kept per virtual user as a browser
 * would keep them (name=value, sent back on every request).
 */

export interface Reply {
  status: number;
  body: any;
  setCookie: string[];
}

export class HttpClient {
  private readonly agent: http.Agent;

  constructor(
    readonly port: number,
    maxSockets: number,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets });
  }

  request(method: string, path: string, options: { body?: unknown; headers?: Record<string, string> } = {}): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const data = options.body === undefined ? null : Buffer.from(JSON.stringify(options.body));
      const headers: Record<string, string | number> = { ...options.headers };
      if (data) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = data.length;
      }
      const req = http.request({ host: '127.0.0.1', port: this.port, path, method, agent: this.agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let body: unknown = null;
          try {
            body = text ? JSON.parse(text) : null;
          } catch {
            body = text;
          }
          resolve({ status: res.statusCode ?? 0, body, setCookie: (res.headers['set-cookie'] as string[] | undefined) ?? [] });
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(data ?? undefined);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** A browser's cookie jar for one site, reduced to what the bench needs. */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  take(setCookie: string[]): void {
    for (const line of setCookie) {
      const pair = line.split(';')[0]!;
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq);
      const value = pair.slice(eq + 1);
      // Max-Age=0 (or an empty value) deletes, as in a browser.
      if (value === '' || /;\s*max-age=0\b/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string | undefined {
    if (this.cookies.size === 0) return undefined;
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}
