/**
 * GrammyAdapter: palaver's sessions and dialogs inside a Telegram bot built with grammY.
 * @module palaver/grammy
 */
export * from '../../src/adapters/grammy';
