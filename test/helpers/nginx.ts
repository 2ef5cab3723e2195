import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ServerType } from '@hono/node-server';
import { vi } from 'vitest';

/**
 * A real nginx (Debian's package) in front of a tiny app, asking Latch with `auth_request` — the
 * configuration docs/forward-auth.md shows, with the test's ports and paths. CI installs nginx
 * (.ci/run) and sets LATCH_REQUIRE_NGINX=1, so the tests using it never skip there.
 */
export const NGINX = '/usr/sbin/nginx';

export function haveNginx(): boolean {
  const present = existsSync(NGINX);
  if (!present && process.env.LATCH_REQUIRE_NGINX === '1') throw new Error(`${NGINX} is missing: apt-get install -y nginx`);
  return present;
}

export function listening(server: Server | ServerType): Promise<number> {
  return new Promise((resolve) => {
    const address = server.address() as AddressInfo | null;
    if (address) resolve(address.port);
    else server.once('listening', () => resolve((server.address() as AddressInfo).port));
  });
}

export async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  const port = await listening(probe);
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** What the protected app saw: the path, and what nginx told it about the user. */
export interface AppView {
  path: string;
  user: string | null;
  groups: string | null;
  aal: string | null;
  phishingResistant: string | null;
}

function appView(req: IncomingMessage): AppView {
  const header = (name: string) => (req.headers[name] as string | undefined) ?? null;
  return { path: req.url ?? '/', user: header('remote-user'), groups: header('remote-groups'), aal: header('remote-aal'), phishingResistant: header('remote-phishing-resistant') };
}

export interface ProtectedApp {
  /** nginx's port: the app as the browser reaches it. */
  port: number;
  close(): Promise<void>;
}

/**
 * Starts the app (JSON of what it saw, or with `html` a page showing it, for a browser) and nginx in
 * front of it on `serverName`, asking Latch at `latchPort`.
 */
export async function startProtectedApp(options: { latchPort: number; serverName: string; html?: boolean }): Promise<ProtectedApp> {
  const app = createServer((req, res) => {
    const view = appView(req);
    if (options.html) {
      res.setHeader('content-type', 'text/html; charset=utf-8');
      // What a signed-in app page should say anyway: a browser must not show it again from its
      // cache once the session no longer lets it in.
      res.setHeader('cache-control', 'no-store');
      const escape = (text: string | null) => (text ?? '').replace(/[&<>"]/g, (ch) => `&#${ch.charCodeAt(0)};`);
      res.end(`<!doctype html><html lang="en"><title>Reports</title><main><h1>Reports</h1><p id="who">${escape(view.user)}</p><p id="aal">${escape(view.aal)}</p><p id="path">${escape(view.path)}</p></main></html>`);
      return;
    }
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify(view));
  });
  app.listen(0, '127.0.0.1');
  const appPort = await listening(app);

  const folder = mkdtempSync(join(tmpdir(), 'latch-nginx-'));
  mkdirSync(join(folder, 'tmp'));
  const port = await freePort();
  // (nginx drops a header set to an empty value: a user in no group reaches the app without
  // Remote-Groups, and a Remote-Groups the browser sent is dropped with it.)
  const config = `
worker_processes 1;
daemon off;
user root;
pid ${folder}/nginx.pid;
error_log ${folder}/error.log warn;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${folder}/tmp/body;
  proxy_temp_path ${folder}/tmp/proxy;
  fastcgi_temp_path ${folder}/tmp/fastcgi;
  uwsgi_temp_path ${folder}/tmp/uwsgi;
  scgi_temp_path ${folder}/tmp/scgi;
  server {
    listen 127.0.0.1:${port};
    server_name ${options.serverName};
    location / {
      auth_request /_latch;
      auth_request_set $latch_user $upstream_http_remote_user;
      auth_request_set $latch_groups $upstream_http_remote_groups;
      auth_request_set $latch_aal $upstream_http_remote_aal;
      auth_request_set $latch_pr $upstream_http_remote_phishing_resistant;
      auth_request_set $latch_location $upstream_http_location;
      error_page 401 =302 $latch_location;
      proxy_set_header Remote-User $latch_user;
      proxy_set_header Remote-Groups $latch_groups;
      proxy_set_header Remote-AAL $latch_aal;
      proxy_set_header Remote-Phishing-Resistant $latch_pr;
      proxy_pass http://127.0.0.1:${appPort};
    }
    location = /_latch {
      internal;
      proxy_pass http://127.0.0.1:${options.latchPort}/api/forward-auth;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
      proxy_set_header X-Forwarded-For $remote_addr;
    }
  }
}
`;
  writeFileSync(join(folder, 'nginx.conf'), config);
  const nginx: ChildProcess = spawn(NGINX, ['-c', join(folder, 'nginx.conf'), '-p', folder], { stdio: 'ignore' });
  await vi.waitFor(
    async () => {
      if (nginx.exitCode !== null) throw new Error(`nginx exited: ${existsSync(join(folder, 'error.log')) ? readFileSync(join(folder, 'error.log'), 'utf8') : ''}`);
      await get(port, '/', { host: options.serverName });
    },
    { timeout: 15_000, interval: 100 },
  );
  return {
    port,
    async close() {
      nginx.kill('SIGQUIT');
      await new Promise((resolve) => (nginx.exitCode !== null ? resolve(null) : nginx.once('exit', resolve)));
      await new Promise((resolve) => app.close(resolve));
      rmSync(folder, { recursive: true, force: true });
    },
  };
}

/** A GET as a browser would send it; redirects are not followed. */
export function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}
