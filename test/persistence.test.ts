import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { recordAudit } from '../src/audit/audit.ts';
import { loadConfig } from '../src/config.ts';
import { loadOrCreateDevelopmentKeys } from '../src/crypto/dev-keys.ts';
import { seal, unseal } from '../src/crypto/keyring.ts';
import { silentLogger } from '../src/logger.ts';
import { startServer } from '../src/server.ts';
import { createSession } from '../src/sessions/sessions.ts';
import { createUser } from '../src/users/users.ts';
import { SESSION_COOKIE } from '../src/http/session-cookie.ts';
import { insertFactor } from './helpers/app.ts';

const dataDir = await mkdtemp(join(tmpdir(), 'latch-persist-'));
afterAll(() => rm(dataDir, { recursive: true, force: true, maxRetries: 5 }));
const config = loadConfig({ PORT: '0', LATCH_DATA_DIR: dataDir, LATCH_LOG_LEVEL: 'silent' });

describe('the embedded database across a restart', () => {
  it('keeps users, factors, sessions, audit rows and the development keys', async () => {
    const first = await startServer(config, { logger: silentLogger });
    const { keyring } = await loadOrCreateDevelopmentKeys(dataDir);
    const now = new Date();
    const user = (await createUser(first.db, { username: 'persistent' }, now))!;
    const sealed = seal(keyring, Buffer.from('secret bytes'), user.id);
    await insertFactor(first.db, user.id, { kind: 'totp', secret_sealed: sealed.sealed, key_id: sealed.keyId }, now);
    const { token } = await createSession(first.db, keyring, user.id, { amr: ['pwd', 'otp'], factorIds: [], aal: 2, phishingResistant: false }, { idleSeconds: 3600, absoluteSeconds: 86400 }, { now, clientAddress: null, userAgent: null, requestId: null });
    await recordAudit(first.db, { now, clientAddress: null, userAgent: null, requestId: null }, { action: 'test.persist', outcome: 'success', subjectUserId: user.id });
    await first.close();

    const keyFile = await readFile(join(dataDir, 'development-keys.json'), 'utf8');
    const second = await startServer(config, { logger: silentLogger });
    try {
      expect(await readFile(join(dataDir, 'development-keys.json'), 'utf8')).toBe(keyFile); // not regenerated
      const reloaded = (await loadOrCreateDevelopmentKeys(dataDir)).keyring;
      const factor = await second.db.selectFrom('factors').selectAll().where('user_id', '=', user.id).executeTakeFirstOrThrow();
      expect(unseal(reloaded, { sealed: factor.secret_sealed!, keyId: factor.key_id! }, user.id).toString()).toBe('secret bytes');
      expect(await second.db.selectFrom('audit_events').select('action').where('subject_user_id', '=', user.id).execute()).toEqual([{ action: 'test.persist' }]);

      const response = await fetch(`http://127.0.0.1:${second.port}/api/session`, { headers: { cookie: `${SESSION_COOKIE}=${token}` } });
      expect(response.status).toBe(200);
      expect((await response.json()).user.username).toBe('persistent');
    } finally {
      await second.close();
    }
    // Two cold starts of the embedded database, each running every migration: 10 s on a quiet
    // 2-core machine, over 30 s when CI shares it with other work.
  }, 180_000);
});
