/**
 * ConsoleAdapter: talk to a bot in the terminal, as one user.
 * @module palaver/console
 */
export * from '../../src/adapters/console';
