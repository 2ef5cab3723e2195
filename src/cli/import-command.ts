import { Command, InvalidArgumentError, Option } from 'commander';
import cliProgress from 'cli-progress';
import { createReadStream, type ReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import { readAutheliaUsers } from '../import/adapters/authelia.ts';
import { readJsonl } from '../import/adapters/jsonl.ts';
import { readKeycloakExport } from '../import/adapters/keycloak.ts';
import { importUsers, type ImportCounts, type ImportDeps, type SourceItem } from '../import/import-users.ts';

export const IMPORT_FORMATS = ['jsonl', 'keycloak', 'authelia'] as const;
export type ImportFormat = (typeof IMPORT_FORMATS)[number];

/** Opens the database and keys as the server does; `close` releases them. */
export type LoadImportDeps = () => Promise<{ deps: ImportDeps; close(): Promise<void> }>;

export interface ImportCommandIo {
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable;
  now(): Date;
  /** Where a failed line turns into a non-zero exit; tests capture it instead of the process's. */
  setExitCode(code: number): void;
}

export const DEFAULT_LINK_TTL_HOURS = 72;
/** Plain progress lines at most this often, so a log is not flooded. */
const PLAIN_PROGRESS_INTERVAL_MS = 2000;

/** The format a file's name suggests, when --format is not given. */
export function formatFromFileName(file: string): ImportFormat {
  if (/\.json$/i.test(file)) return 'keycloak';
  if (/\.ya?ml$/i.test(file)) return 'authelia';
  return 'jsonl';
}

function positiveHours(value: string): number {
  const hours = Number(value);
  if (!Number.isFinite(hours) || hours <= 0 || hours > 24 * 90) throw new InvalidArgumentError('give hours between 0 and 2160 (90 days)');
  return hours;
}

/**
 * `latch import FILE [--format jsonl|keycloak|authelia] [--totp-export FILE] [--group NAME]
 * [--dry-run] [--links FILE] [--link-ttl-hours N]`: the CLI entry adds it with
 * `program.addCommand(importCommand(loadDeps))`. Prints progress (a bar on a terminal, plain
 * lines otherwise), each failed line with its reason, and a summary; exits non-zero when a line
 * failed. Enrollment links go to the --links file only (mode 0600, appended), never to the output.
 */
export function importCommand(loadDeps: LoadImportDeps, io: Partial<ImportCommandIo> = {}): Command {
  const out: ImportCommandIo = {
    stdout: io.stdout ?? process.stdout,
    stderr: io.stderr ?? process.stderr,
    now: io.now ?? (() => new Date()),
    setExitCode: io.setExitCode ?? ((code) => (process.exitCode = code)),
  };
  return new Command('import')
    .description('Import users (password hashes, authenticator secrets, backup codes, groups) from a file')
    .argument('<file>', 'the file to import')
    .addOption(new Option('--format <format>', 'jsonl (ours), keycloak (kc.sh realm export) or authelia (users_database.yml)').choices(IMPORT_FORMATS))
    .option('--totp-export <file>', 'authelia: the output of `authelia storage user totp export` (YAML, CSV or URI list)')
    .option('--group <name>', 'also add every imported user to this group (created when missing)')
    .option('--dry-run', 'validate and count, write nothing', false)
    .option('--links <file>', 'append the enrollment link of each user without a second factor to this file')
    .option('--link-ttl-hours <hours>', 'how long those links stay usable', positiveHours, DEFAULT_LINK_TTL_HOURS)
    .action(async (file: string, options: { format?: ImportFormat; totpExport?: string; group?: string; dryRun: boolean; links?: string; linkTtlHours: number }) => {
      const format = options.format ?? formatFromFileName(file);
      if (options.totpExport && format !== 'authelia') throw new InvalidArgumentError('--totp-export goes with --format authelia');
      // Missing files are named before the database is opened.
      const size = (await stat(file)).size;
      if (options.totpExport) await stat(options.totpExport);
      const { deps, close } = await loadDeps();
      const input = createReadStream(file);
      const source = sourceFor(format, input, options.totpExport);
      const progress = progressReporter(out, size, () => input.bytesRead);
      let linksFile: Awaited<ReturnType<typeof open>> | null = null;
      try {
        if (options.links && !options.dryRun) linksFile = await open(options.links, 'a', 0o600);
        const links = linksFile;
        const summary = await importUsers(deps, source, {
          group: options.group,
          dryRun: options.dryRun,
          linkTtlSeconds: Math.round(options.linkTtlHours * 3600),
          now: out.now(),
          format,
          onProgress: progress.update,
          writeLink: links ? async (username, url) => void (await links.write(`${username}\t${url}\n`)) : undefined,
        });
        progress.stop(summary);
        for (const error of summary.errors) out.stderr.write(`line ${error.line}: ${error.reason}\n`);
        if (summary.failed > summary.errors.length) out.stderr.write(`… and ${summary.failed - summary.errors.length} more failed lines\n`);
        const verb = options.dryRun ? 'would be ' : '';
        out.stdout.write(
          `${options.dryRun ? 'Dry run: nothing was written. ' : ''}${verb}imported ${summary.imported}, ${verb}updated ${summary.updated}, skipped ${summary.skipped}, failed ${summary.failed}\n`,
        );
        if (summary.needEnrollment > 0) {
          out.stdout.write(
            linksFile
              ? `${summary.needEnrollment} users without a second factor: their single-use enrollment links are in ${options.links}\n`
              : `${summary.needEnrollment} users without a second factor ${options.dryRun ? 'would need' : 'got no'} enrollment link${options.dryRun ? 's' : ' (pass --links FILE)'}; their password alone never signs in\n`,
          );
        }
        if (summary.failed > 0) out.setExitCode(1);
      } finally {
        progress.stop(null);
        await linksFile?.close();
        input.destroy();
        await close();
      }
    });
}

function sourceFor(format: ImportFormat, input: ReadStream, totpExport: string | undefined): AsyncIterable<SourceItem> {
  switch (format) {
    case 'jsonl':
      return readJsonl(input);
    case 'keycloak':
      return readKeycloakExport(input);
    case 'authelia':
      return readAutheliaUsers(input, totpExport ? createReadStream(totpExport) : null);
  }
}

/** A bar over the bytes read on a terminal; otherwise a plain line every few seconds. */
function progressReporter(io: ImportCommandIo, totalBytes: number, bytesRead: () => number) {
  const describe = (counts: ImportCounts) => `imported ${counts.imported}, updated ${counts.updated}, skipped ${counts.skipped}, failed ${counts.failed}`;
  let stopped = false;
  if (io.stdout.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: 'importing [{bar}] {percentage}% | {counts}', stream: io.stdout as unknown as NodeJS.WritableStream, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(Math.max(totalBytes, 1), 0, { counts: '' });
    return {
      update: (counts: ImportCounts) => bar.update(Math.min(bytesRead(), totalBytes), { counts: describe(counts) }),
      stop: (final: ImportCounts | null) => {
        if (stopped) return;
        stopped = true;
        if (final) bar.update(Math.max(totalBytes, 1), { counts: describe(final) });
        bar.stop();
      },
    };
  }
  let last = 0;
  return {
    update: (counts: ImportCounts) => {
      const now = Date.now();
      if (now - last < PLAIN_PROGRESS_INTERVAL_MS) return;
      last = now;
      const percent = totalBytes > 0 ? Math.floor((Math.min(bytesRead(), totalBytes) / totalBytes) * 100) : 100;
      io.stdout.write(`progress ${percent}%: ${describe(counts)}\n`);
    },
    stop: () => {
      stopped = true;
    },
  };
}
