import type pg from 'pg';

/**
 * Named prepared statements for the statements a process sends again and again. PostgreSQL then
 * parses and plans each of them once per connection instead of once per request: on the session
 * check's SELECT that cut PostgreSQL's CPU per statement by 60–70 % (measured, issue 11).
 *
 * Which statements: a SQL text with parameters, seen a second time (a one-off such as an IN list
 * of a given length is never named), up to a fixed number of texts per process (prepared
 * statements live in every backend until its connection closes).
 *
 * Not prepared: a statement whose result columns a migration could change under it. PostgreSQL
 * re-plans a prepared statement after a table changes, but refuses one whose result type changed
 * ("cached plan must not change result type"): a `select *` or `returning *` prepared by an
 * instance still running the previous version would fail once a rolling upgrade added a column.
 * A statement that names its columns keeps its result type when columns are added, so it is safe.
 *
 * Behind a pooler that hands each transaction another server connection (PgBouncer's transaction
 * mode before 1.21), named statements break: LATCH_PREPARED_STATEMENTS=false turns this off.
 */
export class PreparedStatementNames {
  private readonly names = new Map<string, string>();
  private readonly seen = new Set<string>();

  constructor(private readonly maxNames = 500, private readonly maxSeen = 5_000) {}

  /** The name to prepare this text under, or null to send it unnamed. */
  nameFor(text: string): string | null {
    const name = this.names.get(text);
    if (name !== undefined) return name;
    if (this.names.size >= this.maxNames || !preparable(text)) return null;
    if (!this.seen.has(text)) {
      // Bounded: past the limit the texts seen once start over (a busy process sees its hot
      // statements again within moments; one-offs are forgotten).
      if (this.seen.size >= this.maxSeen) this.seen.clear();
      this.seen.add(text);
      return null;
    }
    this.seen.delete(text);
    const created = `latch_${this.names.size + 1}`;
    this.names.set(text, created);
    return created;
  }

  get size(): number {
    return this.names.size;
  }
}

/**
 * Whether the statement's own result columns are fixed by its text: no `*` outside parentheses
 * and quotes (`select *`, `"sessions".*`, `returning *`). A `*` inside parentheses (a CTE's
 * `returning *` read through `to_jsonb`, `count(*)`) does not reach the result's columns.
 */
export function preparable(text: string): boolean {
  let depth = 0;
  for (let index = 0; index < text.length; index++) {
    const char = text[index];
    if (char === "'" || char === '"') {
      const end = text.indexOf(char, index + 1);
      if (end === -1) return false;
      index = end; // a doubled quote ('it''s') is two strings side by side here: same outcome
    } else if (char === '(') depth++;
    else if (char === ')') depth--;
    else if (char === '*' && depth === 0) return false;
  }
  return true;
}

type QueryFunction = (...args: unknown[]) => unknown;

/**
 * Makes a pool client send the texts `names` picks as named statements. Kysely calls
 * `client.query(text, parameters)`; statements without parameters (BEGIN, COMMIT) keep the simple
 * protocol, which is one message instead of four.
 */
export function prepareRepeatedStatements(client: pg.PoolClient, names: PreparedStatementNames): void {
  const query = client.query as unknown as QueryFunction;
  (client as unknown as { query: QueryFunction }).query = function namedQuery(this: unknown, ...args: unknown[]) {
    const [text, values] = args;
    if (typeof text === 'string' && Array.isArray(values) && values.length > 0 && args.length === 2) {
      const name = names.nameFor(text);
      if (name) return query.call(client, { name, text, values });
    }
    return query.apply(client, args);
  };
}
