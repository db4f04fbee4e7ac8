import type { JsonObject } from './types';

/** Checks one entity value against its declared schema; throws `INVALID_ARGUMENT` when it does not fit. */
export type EntityCheck = (name: string, value: unknown) => void;

/**
 * `session.entities` with every assignment checked, for bots that declare entity schemas (the `entities` option): the
 * line that sets a bad value throws, instead of the next turn dropping it as `CORRUPT_STATE`. One proxy per entities
 * object, made when first read; a bot without schemas never builds one.
 */
export class EntityGuard {
  #target: JsonObject | undefined;
  #proxy: JsonObject | undefined;

  constructor(private readonly check: EntityCheck) {}

  /** The checked view of `entities` (the same proxy while the session keeps the same entities object). */
  wrap(entities: JsonObject): JsonObject {
    if (this.#target !== entities || this.#proxy === undefined) {
      const check = this.check;
      this.#target = entities;
      this.#proxy = new Proxy(entities, {
        set(target, name, value) {
          if (typeof name === 'string') check(name, value);
          // Without the proxy as receiver, so that defineProperty below does not check the same value twice.
          return Reflect.set(target, name, value);
        },
        defineProperty(target, name, descriptor) {
          if (typeof name === 'string' && 'value' in descriptor) check(name, descriptor.value);
          return Reflect.defineProperty(target, name, descriptor);
        },
      });
    }
    return this.#proxy;
  }

  /** Checks each entity of an object about to replace the entities (`session.entities = { ... }`). */
  checkAll(entities: JsonObject): void {
    if (typeof entities !== 'object' || entities === null) return;
    for (const name of Object.keys(entities)) this.check(name, entities[name]);
  }
}
