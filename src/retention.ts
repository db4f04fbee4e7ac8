import { z } from 'zod';
import type { EntityCheck } from './entity-check';
import { describe, errorText, PalaverError } from './errors';
import { formatIssues, type SessionStateRecord } from './schema';
import type { EndReason, JsonObject } from './types';

/**
 * How long an entity lives.
 * - `session`: for one session; cleared when it ends (unless kept by `keepOnReset`, `ttl`, `preserve` or the end hook).
 * - `user`: it describes the user: kept across sessions (every end but `refresh`, which clears everything).
 */
export type EntityScope = 'session' | 'user';

/**
 * One entity, declared once: its zod schema, its scope, its own TTL and whether it survives a reset.
 * @example
 * entities: {
 *   UserName: { schema: z.string(), scope: 'user' },
 *   Coupon: { schema: z.string(), ttl: 24 * 3_600_000 },
 *   Consent: { schema: z.boolean(), keepOnReset: true },
 * }
 */
export interface EntitySpec<T = unknown> {
  /** Checks the stored value when the session is loaded; a value that fails is dropped (and reported), never the session. */
  schema: z.ZodType<T>;
  /** @default 'session' */
  scope?: EntityScope;
  /** The entity lives this many ms from when it is set, across session ends (as `session.setEntity(name, value, { ttl })`). */
  ttl?: number;
  /** Kept through every session end, `refresh()` included. @default false */
  keepOnReset?: boolean;
}

/** Entity declarations by name. */
export type EntitySpecs = Record<string, EntitySpec<any>>;

/** The entity types that `entities` declarations describe (each optional: an entity may not be set). */
export type EntitiesOf<S extends EntitySpecs> = { [K in keyof S]?: S[K] extends EntitySpec<infer T> ? T : never };

/**
 * Upgrades of stored entities, grammY-style: `migrations[n]` turns entities written in version `n - 1` into version `n`.
 * The highest key is the current version; a session stored in an older one is upgraded when it is loaded.
 * @example
 * migrations: { 1: (old) => ({ ...old, UserName: { first: old.UserName } }) }
 */
export type EntityMigrations = Record<number, (entities: JsonObject) => JsonObject>;

/**
 * Declares entities with their types inferred from the schemas (also accepted inline by the `entities` option).
 * @example
 * const entities = defineEntities({ UserName: { schema: z.string(), scope: 'user' } });
 * const bot = new SessionManager<EntitiesOf<typeof entities>>({ deliver, entities });
 */
export function defineEntities<S extends EntitySpecs>(specs: S): S {
  return specs;
}

const isSchema = z.custom<z.ZodType>((v) => typeof (v as { safeParse?: unknown } | null)?.safeParse === 'function', {
  message: 'must be a zod schema',
});

/** The shape of the `entities` option. */
export const entitiesOptionSchema = z.record(
  z.string().min(1),
  z
    .object({
      schema: isSchema,
      scope: z.enum(['session', 'user']).optional(),
      ttl: z.number().int().positive().optional(),
      keepOnReset: z.boolean().optional(),
    })
    .strict(),
);

/** The shape of the `migrations` option: positive integer keys, functions. */
export const migrationsOptionSchema = z.record(
  z.string().regex(/^[1-9]\d*$/, 'must be a positive integer version'),
  z.custom<(entities: JsonObject) => JsonObject>((v) => typeof v === 'function', { message: 'must be a function' }),
);

/** What went wrong with one stored session's entities, for the manager to report (code `CORRUPT_STATE`). */
export interface RetentionProblem {
  readonly message: string;
  readonly cause?: unknown;
}

/**
 * The typed retention policy: which entities survive which session ends, their TTLs, their schemas and migrations.
 * The manager builds one only when `entities` or `migrations` is set, so a bot without them pays nothing.
 */
export class Retention {
  /** The current entity version: the highest migration key, or 0. */
  readonly version: number;
  private readonly specs: [string, EntitySpec][];
  private readonly steps: [number, (entities: JsonObject) => JsonObject][];
  private readonly ttls: [string, number][];
  private readonly keepAlways: string[];
  private readonly keepUser: string[];
  /**
   * Checks a value about to be set on a declared entity (`undefined`, which unsets it, always passes); `undefined`
   * when no entity is declared, so that sessions skip the check altogether.
   * @throws PalaverError `INVALID_ARGUMENT` naming the entity and what its schema expected.
   */
  readonly checkEntity: EntityCheck | undefined;

  constructor(specs: EntitySpecs = {}, migrations: EntityMigrations = {}) {
    this.specs = Object.entries(specs);
    const schemas = new Map(this.specs.map(([name, spec]) => [name, spec.schema]));
    this.checkEntity = schemas.size === 0 ? undefined : (name, value) => checkEntity(schemas.get(name), name, value);
    this.steps = Object.entries(migrations)
      .map(([version, migrate]): [number, (entities: JsonObject) => JsonObject] => [Number(version), migrate])
      .sort((a, b) => a[0] - b[0]);
    this.version = this.steps.length === 0 ? 0 : this.steps[this.steps.length - 1]![0];
    this.ttls = this.specs.flatMap(([name, spec]): [string, number][] =>
      spec.ttl === undefined ? [] : [[name, spec.ttl]],
    );
    this.keepAlways = this.specs.filter(([, spec]) => spec.keepOnReset === true).map(([name]) => name);
    this.keepUser = this.specs
      .filter(([, spec]) => spec.keepOnReset !== true && spec.scope === 'user')
      .map(([name]) => name);
  }

  /** The entity names a session end for `reason` keeps by declaration. */
  kept(reason: EndReason): readonly string[] {
    if (reason === 'refresh' || this.keepUser.length === 0) return this.keepAlways;
    return this.keepAlways.length === 0 ? this.keepUser : [...this.keepAlways, ...this.keepUser];
  }

  /** Before a save: declared TTLs start for entities set without one, and entities of an older version are marked with the current one. */
  stamp(state: SessionStateRecord, now: number): void {
    for (const [name, ttl] of this.ttls) {
      if (Object.hasOwn(state.entities, name) && state.entityExpiry?.[name] === undefined)
        (state.entityExpiry ??= {})[name] = now + ttl;
    }
    // Never lowered: entities a newer bot wrote (before a rollback, or beside this one in a rolling deploy) may pass
    // this bot's schemas in either shape, and a lower mark would make the newer bot migrate them a second time.
    if (this.version > (state.entitiesVersion ?? 0)) state.entitiesVersion = this.version;
  }

  /**
   * After a load: upgrades entities stored in an older version, then checks each declared entity against its schema.
   * A value that fails is dropped and described in the returned problems; the rest of the session is kept.
   */
  load(state: SessionStateRecord): RetentionProblem[] {
    const problems: RetentionProblem[] = [];
    const from = state.entitiesVersion ?? 0;
    if (from < this.version) {
      let entities = state.entities;
      for (const [version, migrate] of this.steps) {
        if (version <= from) continue;
        try {
          const next = migrate(structuredClone(entities));
          if (typeof next !== 'object' || next === null || Array.isArray(next))
            throw new TypeError('it did not return an object of entities');
          entities = next;
        } catch (error) {
          problems.push({
            message: `migration ${version} threw (${errorText(error)}); the entities stay as the migration before it left them`,
            cause: error,
          });
          break;
        }
      }
      state.entities = entities;
    }
    // Entities of a newer version are checked against this bot's schemas like any others; only a failure is reported.
    const newer =
      from > this.version
        ? ` (its entities were written in version ${from}, newer than this bot's ${this.version})`
        : '';
    for (const [name, spec] of this.specs) {
      if (!Object.hasOwn(state.entities, name)) continue;
      const parsed = spec.schema.safeParse(state.entities[name]);
      if (parsed.success) {
        state.entities[name] = parsed.data;
        continue;
      }
      delete state.entities[name];
      if (state.entityExpiry !== undefined) delete state.entityExpiry[name];
      problems.push({
        message: `entity "${name}" does not match its schema (${formatIssues(parsed.error)}); that entity was dropped${newer}`,
        cause: parsed.error,
      });
    }
    return problems;
  }
}

function checkEntity(schema: z.ZodType | undefined, name: string, value: unknown): void {
  if (schema === undefined || value === undefined) return;
  const parsed = schema.safeParse(value);
  if (parsed.success) return;
  const problems = formatIssues(parsed.error).replace(/`\(root\)` /g, '');
  throw new PalaverError(
    'INVALID_ARGUMENT',
    `Entity "${name}" cannot be set to ${describe(value)}: its schema says ${problems}. ` +
      'Set a value of the declared type, or delete the entity to unset it.',
    { cause: parsed.error },
  );
}
