/**
 * Sessions with timeouts and hooks, the dialog stack and prompts, the outbox and cards, MemoryStore and the errors: what every bot imports.
 * @module palaver
 */
export * from '../../src/index';
