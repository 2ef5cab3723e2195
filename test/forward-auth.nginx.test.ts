import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serve, type ServerType } from '@hono/node-server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTestApp, seedSignedInUser, type TestApp } from './helpers/app.ts';
import { SESSION_COOKIE } from '../src/http/session-cookie.ts';

const NGINX = '/usr/sbin/nginx';
// CI installs nginx (.ci/run) and sets LATCH_REQUIRE_NGINX=1, so this never skips there.
const haveNginx = existsSync(NGINX);
if (!haveNginx && process.env.LATCH_REQUIRE_NGINX === '1') throw new Error(`${NGINX} is missing: apt-get install -y nginx`);

function listening(server: Server | ServerType): Promise<number> {
  return new Promise((resolve) => {
    const address = server.address() as AddressInfo | null;
    if (address) resolve(address.port);
    else server.once('listening', () => resolve((server.address() as AddressInfo).port));
  });
}

async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  const port = await listening(probe);
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** A GET through nginx as a browser on app.example.com would send it; redirects are not followed. */
function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', headers: { host: 'app.example.com', ...headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe.runIf(haveNginx)('forward-auth behind a real nginx (auth_request)', () => {
  let t: TestApp;
  let latch: ServerType;
  let app: Server;
  let nginx: ChildProcess;
  let nginxPort: number;
  let folder: string;

  beforeAll(async () => {
    t = await createTestApp({ env: { LATCH_FORWARD_AUTH_DOMAINS: 'example.com' } });
    latch = serve({ fetch: t.app.fetch, port: 0, hostname: '127.0.0.1' });
    const latchPort = await listening(latch);
    // The protected app: answers with what nginx told it about the user.
    app = createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ path: req.url, user: req.headers['remote-user'] ?? null, groups: req.headers['remote-groups'] ?? null, aal: req.headers['remote-aal'] ?? null, phishingResistant: req.headers['remote-phishing-resistant'] ?? null }));
    });
    app.listen(0, '127.0.0.1');
    const appPort = await listening(app);

    folder = mkdtempSync(join(tmpdir(), 'latch-nginx-'));
    mkdirSync(join(folder, 'tmp'));
    nginxPort = await freePort();
    // The configuration docs/forward-auth.md shows, with the test's ports and paths. (nginx drops a
    // header set to an empty value: a user in no group reaches the app without Remote-Groups, and a
    // Remote-Groups the browser sent is dropped with it.)
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
    listen 127.0.0.1:${nginxPort};
    server_name app.example.com;
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
      proxy_pass http://127.0.0.1:${latchPort}/api/forward-auth;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Original-URL $scheme://$http_host$request_uri;
      proxy_set_header X-Forwarded-For $remote_addr;
    }
  }
}
`;
    writeFileSync(join(folder, 'nginx.conf'), config);
    nginx = spawn(NGINX, ['-c', join(folder, 'nginx.conf'), '-p', folder], { stdio: 'ignore' });
    await vi.waitFor(
      async () => {
        if (nginx.exitCode !== null) throw new Error(`nginx exited: ${existsSync(join(folder, 'error.log')) ? readFileSync(join(folder, 'error.log'), 'utf8') : ''}`);
        await get(nginxPort, '/');
      },
      { timeout: 15_000, interval: 100 },
    );
  });

  afterAll(async () => {
    nginx?.kill('SIGQUIT');
    await new Promise((resolve) => (nginx?.exitCode !== null ? resolve(null) : nginx.once('exit', resolve)));
    latch?.close();
    app?.close();
    if (folder) rmSync(folder, { recursive: true, force: true });
  });

  it('signed out: nginx redirects the browser to Latch\'s sign-in, with the way back', async () => {
    const response = await get(nginxPort, '/reports?q=1');
    expect(response.status).toBe(302);
    const location = new URL(String(response.headers.location));
    expect(location.origin + location.pathname).toBe(`${t.config.origins[0]}/signin`);
    expect(location.searchParams.get('next')).toBe(`/continue?rd=${encodeURIComponent(`http://app.example.com/reports?q=1`)}`);
    expect(response.body).not.toContain('"user"');
  });

  it('signed in: the app is reached, with who the user is and how they proved it', async () => {
    const client = t.client();
    const { user } = await seedSignedInUser(t, client, { username: 'grace' });
    const response = await get(nginxPort, '/reports', { cookie: `${SESSION_COOKIE}=${client.sessionToken}` });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toEqual({ path: '/reports', user: user.username, groups: null, aal: '2', phishingResistant: 'true' });
  });

  it('forward-auth.header-spoofing: identity headers the browser sends never reach the app', async () => {
    const client = t.client();
    await seedSignedInUser(t, client, { username: 'mallory' });
    const response = await get(nginxPort, '/', { cookie: `${SESSION_COOKIE}=${client.sessionToken}`, 'remote-user': 'admin', 'remote-groups': 'admins' });
    expect(response.status).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ user: 'mallory', groups: null });
  });
});
