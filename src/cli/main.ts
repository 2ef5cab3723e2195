import { contextFromEnvironment, runCli } from './program.ts';

/** The `latch` command line (bin/latch.mjs, `npm run latch -- <command>`). */
process.exitCode = await runCli(process.argv.slice(2), { withContext: contextFromEnvironment(process.env) });
