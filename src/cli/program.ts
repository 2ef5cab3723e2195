import { Command, CommanderError, Option } from 'commander';
import { Writable } from 'node:stream';
import { ConfigError } from '../config.ts';
import { LatchError } from '../errors.ts';
import { openCliContext, type CliContext } from './context.ts';
import { createAdminCommand } from './create-admin.ts';
import { importCommand, type LoadImportDeps } from './import-command.ts';
import { addGroupMembersCommand, createGroupCommand, listGroupsCommand, removeGroupMembersCommand, setGroupPolicyCommand } from './groups.ts';
import { createClientCommand, deleteClientCommand, listClientsCommand, listKeysCommand, rotateKeysCommand, type CreateClientOptions } from './oidc.ts';
import { setRoleCommand } from './roles.ts';
import { statsCommand } from './stats.ts';
import { auditCheckpointCommand, auditVerifyCommand } from './audit.ts';

/** Exit codes: 0 done, 1 the command failed, 2 the command line was wrong (usage). */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** How a command reaches the database: opened for the command, closed after it (tests pass their own). */
export type WithContext = <T>(work: (context: CliContext) => Promise<T>) => Promise<T>;

/**
 * The `latch` command line. Each command is a function in its own module under src/cli/ over the
 * domain (src/admin/, src/groups/); this file only declares the commands and their arguments.
 */
export function buildProgram(
  withContext: WithContext,
  output: { out(text: string): void; err(text: string): void },
  importDeps: { load: LoadImportDeps; setExitCode(code: number): void } = { load: loadDepsFromEnvironment(process.env), setExitCode: () => {} },
): Command {
  const program = new Command('latch')
    .description('Administer Latch: administrators, groups and their passkey rollout, adoption figures.\nUses the same configuration as the server (DATABASE_URL or LATCH_DATA_DIR, and the keys).')
    .showHelpAfterError()
    .exitOverride()
    .configureOutput({ writeOut: output.out, writeErr: output.err });

  program
    .command('create-admin')
    .description('create the user if missing and print a single-use link (valid 24 h) on which they register a passkey and become an administrator')
    .argument('<username>')
    .action(async (username: string) => {
      await withContext((context) => createAdminCommand(context, username));
    });

  program
    .command('promote')
    .description('make a user an administrator')
    .argument('<username>')
    .action((username: string) => withContext((context) => setRoleCommand(context, username, true)));

  program
    .command('demote')
    .description('make an administrator a member again (never the last administrator)')
    .argument('<username>')
    .action((username: string) => withContext((context) => setRoleCommand(context, username, false)));

  const groups = program.command('groups').description('groups and their passkey rollout policy');
  groups
    .command('create')
    .argument('<name>')
    .description('create a group')
    .action((name: string) => withContext((context) => createGroupCommand(context, name)));
  groups
    .command('list')
    .option('--json', 'as JSON')
    .description('list the groups with their policy and member counts')
    .action((options: { json?: boolean }) => withContext((context) => listGroupsCommand(context, options)));
  groups
    .command('set-policy')
    .argument('<name>')
    .description("set a group's rollout policy")
    .addOption(new Option('--mode <mode>', 'rollout mode').choices(['optional', 'encouraged', 'required']).makeOptionMandatory())
    .option('--deadline <iso>', 'from when a passkey is required (ISO 8601; "none" to clear)')
    .option('--invite-again-days <n>', 'after a skipped invitation, invite again after this many days (1–365)')
    .option('--retire-totp-after <n>', 'retire TOTP after this many passkey sign-ins (1–1000, or "never")')
    .action((name: string, options: { mode: string; deadline?: string; inviteAgainDays?: string; retireTotpAfter?: string }) =>
      withContext((context) => setGroupPolicyCommand(context, name, options)),
    );
  groups
    .command('add')
    .argument('<group>')
    .argument('<username...>')
    .description('add users to a group')
    .action((group: string, usernames: string[]) => withContext((context) => addGroupMembersCommand(context, group, usernames)));
  groups
    .command('remove')
    .argument('<group>')
    .argument('<username...>')
    .description('remove users from a group')
    .action((group: string, usernames: string[]) => withContext((context) => removeGroupMembersCommand(context, group, usernames)));

  const oidc = program.command('oidc').description('OpenID Connect: the apps that sign in with Latch, and the signing keys');
  const clients = oidc.command('clients').description('registered applications (client id, secret shown once, redirect URIs matched exactly)');
  const collect = (value: string, previous: string[] = []) => [...previous, value];
  clients
    .command('create')
    .description('register an app; prints its client_id and (for a confidential client) its client_secret, once')
    .requiredOption('--name <name>', 'the name users see on the consent screen')
    .option('--redirect-uri <uri>', 'an exact redirect URI (repeat for more)', collect)
    .option('--post-logout-redirect-uri <uri>', 'where RP-initiated logout may return (repeat for more)', collect)
    .option('--public', 'a public client (SPA, native app): no secret, PKCE required')
    .option('--first-party', 'skip the consent screen (your own app)')
    .addOption(new Option('--grant <grant>', 'an allowed grant (repeat; default authorization_code and refresh_token)').choices(['authorization_code', 'refresh_token', 'client_credentials']).argParser(collect))
    .option('--scope <scopes>', 'allowed scopes, space-separated (default: openid profile email offline_access)')
    .option('--backchannel-logout-uri <uri>', 'where Latch POSTs an OpenID Connect back-channel logout token when the user\'s session ends')
    .action((options: CreateClientOptions) => withContext((context) => createClientCommand(context, options)));
  clients
    .command('list')
    .option('--json', 'as JSON')
    .description('list the registered apps')
    .action((options: { json?: boolean }) => withContext((context) => listClientsCommand(context, options)));
  clients
    .command('delete')
    .argument('<client-id>')
    .description('delete an app; its grants and tokens end')
    .action((clientId: string) => withContext((context) => deleteClientCommand(context, clientId)));
  oidc
    .command('rotate-keys')
    .description('add a new current signing key; the replaced one stays in the JWKS until the tokens it signed have expired')
    .addOption(new Option('--alg <alg>', 'the key type').choices(['ES256', 'RS256']).default('ES256'))
    .action((options: { alg?: string }) => withContext((context) => rotateKeysCommand(context, options)));
  oidc
    .command('keys')
    .description('list the signing keys: current, retiring (still published), retired')
    .action(() => withContext((context) => listKeysCommand(context)));

  program
    .command('stats')
    .option('--json', 'as JSON')
    .description('passkey adoption now: users passkey-only, passkey + TOTP, TOTP-only, without a second factor, holding unused backup codes; per group')
    .action((options: { json?: boolean }) => withContext((context) => statsCommand(context, options)));

  const audit = program.command('audit').description('the tamper-evident audit trail');
  audit
    .command('checkpoint')
    .description('write the next signed checkpoint over the audit rows written since the previous one (the server does this every minute)')
    .action(() => withContext((context) => auditCheckpointCommand(context)));
  audit
    .command('verify')
    .option('--json', 'as JSON')
    .description('walk the checkpoint chain and name the first row or checkpoint that does not match (exit 1)')
    .action(async (options: { json?: boolean }) => {
      const ok = await withContext((context) => auditVerifyCommand(context, options));
      if (!ok) importDeps.setExitCode(EXIT_FAILURE);
    });

  program.addCommand(
    importCommand(importDeps.load, {
      setExitCode: importDeps.setExitCode,
      // Progress bars only on a terminal: when the output is the process's own and a TTY.
      stdout: Object.assign(writableOf(output.out), { isTTY: output.out === writeStdout && process.stdout.isTTY === true }),
      stderr: writableOf(output.err),
    }),
  );

  return program;
}

const writeStdout = (text: string) => {
  process.stdout.write(text);
};

function writableOf(write: (text: string) => void): Writable {
  return new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      write(chunk.toString());
      done();
    },
  });
}

/** Runs one command line; answers the exit code. Errors print a message, never a stack. */
export async function runCli(
  argv: string[],
  options: { withContext: WithContext; loadImportDeps?: LoadImportDeps; out?: (text: string) => void; err?: (text: string) => void },
): Promise<number> {
  const out = options.out ?? writeStdout;
  const err = options.err ?? ((text: string) => process.stderr.write(text));
  // A command that runs to its end may still have failed in part (an import with bad lines).
  let exitCode = EXIT_OK;
  const program = buildProgram(options.withContext, { out, err }, {
    load: options.loadImportDeps ?? loadDepsFromEnvironment(process.env),
    setExitCode: (code) => {
      exitCode = code;
    },
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version are answers, not failures; anything else commander refuses is usage.
      return error.code === 'commander.helpDisplayed' || error.code === 'commander.version' || error.code === 'commander.help' ? EXIT_OK : EXIT_USAGE;
    }
    if (error instanceof LatchError) {
      err(`latch: ${error.message}\n`);
      return EXIT_FAILURE;
    }
    if (error instanceof ConfigError) {
      err(`latch: ${error.message}\nSee README.md, "Configuration".\n`);
      return EXIT_FAILURE;
    }
    const failure = error as Error;
    err(`latch: ${failure.name}: ${failure.message}\n`);
    const cause = (failure as { cause?: Error }).cause;
    if (cause) err(`  cause: ${cause.message}\n`);
    return EXIT_FAILURE;
  }
}

/** The import command's way to the database: opened as for every command, closed when it is done. */
export function loadDepsFromEnvironment(env: Record<string, string | undefined>): LoadImportDeps {
  return async () => {
    const context = await openCliContext(env);
    return { deps: context.deps, close: context.close };
  };
}

/** Opens the configured database for one command and closes it after. */
export function contextFromEnvironment(env: Record<string, string | undefined>): WithContext {
  return async (work) => {
    const context = await openCliContext(env);
    try {
      return await work(context);
    } finally {
      await context.close();
    }
  };
}
