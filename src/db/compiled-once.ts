import { CompiledQuery, type Compilable, type Kysely, type RawBuilder, type Transaction } from 'kysely';
import type { DialectAdapter } from 'kysely';
import type { Database } from './schema.ts';

type Executor = Kysely<Database> | Transaction<Database>;

/** Stands for one argument (by position) or one named value while the query is built and compiled. */
class Slot {
  constructor(readonly key: number | string) {}
}

/** A query builder, or a raw `sql` template (compiled against the executor it runs on). */
type Buildable<Row> = Compilable<Row> | RawBuilder<Row>;

/**
 * A query built and compiled once per dialect, then run with each call's values as its
 * parameters. Kysely otherwise builds an operation tree and compiles it to SQL on every call: on
 * the hottest paths (the session check, the passkey sign-in's statements) that was a tenth of the
 * server's CPU. `build` gets a stand-in for each argument and must use it only as a value
 * (`where x = $n`), never to choose the query's shape or to compute with; a stand-in that does not
 * come out as a parameter is refused. The SQL depends only on the dialect, so a transaction
 * reuses what its database compiled (keyed by the dialect adapter they share).
 */
export function compiledOnce<Args extends unknown[], Row>(arity: Args['length'], build: (db: Executor, ...args: Args) => Buildable<Row>) {
  const slots = Array.from({ length: arity }, (_, index) => new Slot(index)) as unknown as Args;
  const run = compiledRunner<Row>((db) => build(db, ...slots), slots as unknown as Slot[]);
  return (db: Executor, ...args: Args): Promise<Row[]> => run(db, args as unknown as Record<number, unknown>);
}

/**
 * `compiledOnce` for a statement with many values: `build` gets an object with a stand-in for
 * each of `names`, and each call passes an object with those names.
 */
export function compiledOnceNamed<Values extends object, Row>(
  names: readonly (keyof Values & string)[],
  build: (db: Executor, values: Values) => Buildable<Row>,
) {
  const slots = Object.fromEntries(names.map((name) => [name, new Slot(name)])) as unknown as Values;
  const run = compiledRunner<Row>((db) => build(db, slots), Object.values(slots) as Slot[]);
  return (db: Executor, values: Values): Promise<Row[]> => run(db, values as Record<string, unknown>);
}

function compiledRunner<Row>(build: (db: Executor) => Buildable<Row>, slots: Slot[]) {
  const compiledFor = new WeakMap<DialectAdapter, CompiledQuery<Row>>();

  function compile(db: Executor): CompiledQuery<Row> {
    const built = build(db);
    const compiled = isRaw(built) ? built.compile(db) : built.compile();
    for (const slot of slots) {
      if (!compiled.parameters.some((parameter) => parameter instanceof Slot && parameter.key === slot.key)) {
        throw new Error(`compiledOnce: ${typeof slot.key === 'number' ? `argument ${slot.key}` : `value ${slot.key}`} is not a parameter of the query`);
      }
    }
    return compiled;
  }

  return async function run(db: Executor, values: Record<string | number, unknown>): Promise<Row[]> {
    const adapter = db.getExecutor().adapter;
    let compiled = compiledFor.get(adapter);
    if (!compiled) {
      compiled = compile(db);
      compiledFor.set(adapter, compiled);
    }
    const parameters = compiled.parameters.map((parameter) => (parameter instanceof Slot ? values[parameter.key] : parameter));
    const result = await db.executeQuery<Row>(CompiledQuery.raw(compiled.sql, parameters) as CompiledQuery<Row>);
    return result.rows;
  };
}

function isRaw<Row>(built: Buildable<Row>): built is RawBuilder<Row> {
  return 'isRawBuilder' in built && built.isRawBuilder === true;
}
