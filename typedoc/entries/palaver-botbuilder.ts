/**
 * BotbuilderAdapter: palaver's sessions and dialogs inside a Bot Framework (botbuilder v4) bot.
 * @module palaver/botbuilder
 */
export * from '../../src/adapters/botbuilder';
