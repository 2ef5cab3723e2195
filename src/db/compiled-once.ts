import { CompiledQuery, type Compilable, type Kysely, type Transaction } from 'kysely';
import type { Database } from './schema.ts';

type Executor = Kysely<Database> | Transaction<Database>;

/** Stands for the i-th argument while the query is built and compiled. */
class Slot {
  constructor(readonly index: number) {}
}

/**
 * A query built and compiled once per database handle, then run with each call's values as its
 * parameters. Kysely otherwise builds an operation tree and compiles it to SQL on every call: on
 * the hottest path (the session check, one SELECT per request) that was a tenth of the server's
 * CPU. `build` gets a stand-in for each argument and must use it only as a value (`where x = $n`),
 * never to choose the query's shape; a stand-in that does not come out as a parameter is refused.
 */
export function compiledOnce<Args extends unknown[], Row>(arity: Args['length'], build: (db: Executor, ...args: Args) => Compilable<Row>) {
  const slots = Array.from({ length: arity }, (_, index) => new Slot(index)) as unknown as Args;
  const compiledFor = new WeakMap<Executor, CompiledQuery<Row>>();

  function compile(db: Executor): CompiledQuery<Row> {
    const compiled = build(db, ...slots).compile();
    for (let index = 0; index < arity; index++) {
      if (!compiled.parameters.some((parameter) => parameter instanceof Slot && parameter.index === index)) {
        throw new Error(`compiledOnce: argument ${index} is not a parameter of the query`);
      }
    }
    return compiled;
  }

  return async function run(db: Executor, ...args: Args): Promise<Row[]> {
    let compiled = compiledFor.get(db);
    if (!compiled) {
      compiled = compile(db);
      compiledFor.set(db, compiled);
    }
    const parameters = compiled.parameters.map((parameter) => (parameter instanceof Slot ? args[parameter.index] : parameter));
    const result = await db.executeQuery<Row>(CompiledQuery.raw(compiled.sql, parameters) as CompiledQuery<Row>);
    return result.rows;
  };
}
