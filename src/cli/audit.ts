import { verifyAuditTrail, writeCheckpoints } from '../audit/checkpoints.ts';
import type { CliContext } from './context.ts';

/** `latch audit checkpoint`: checkpoints every finished row now, in bounded checkpoints (the server does so every minute). */
export async function auditCheckpointCommand(context: CliContext): Promise<void> {
  const written = await writeCheckpoints(context.deps, () => context.clock.now());
  if (written.length === 0) {
    context.out('Nothing to checkpoint (no new audit rows whose transactions have ended, or another instance is writing one).');
    return;
  }
  for (const checkpoint of written) {
    context.out(`Checkpoint ${checkpoint.seq}: ${checkpoint.rowCount} rows (ids ${checkpoint.firstRowId}–${checkpoint.lastRowId}), hash ${checkpoint.hash}`);
  }
}

/** `latch audit verify [--json]`: walks the chain; false (exit 1) at the first row or checkpoint that does not match. */
export async function auditVerifyCommand(context: CliContext, options: { json?: boolean } = {}): Promise<boolean> {
  const report = await verifyAuditTrail(context.deps);
  if (options.json) {
    context.out(JSON.stringify(report, null, 2));
    return report.ok;
  }
  if (report.problem) {
    context.out(`FAILED: ${report.problem.message}.`);
    context.out(`Checked ${report.rows} rows in the checkpoints before it.`);
    return false;
  }
  context.out(`OK: ${report.checkpoints} checkpoints, ${report.rows} rows verified; ${report.uncheckpointedRows} newer rows not yet checkpointed.`);
  context.out(`Head: ${report.head}`);
  return true;
}
