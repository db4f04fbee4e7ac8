import { vsprintf } from 'sprintf-js';
import { PalaverError } from './errors';

/**
 * Expands a sprintf template (`'Hello %s'`, `'Hello %(name)s'`). Without arguments the text is sent as it is,
 * so user text with `%` in it is never read as a template.
 */
export function formatText(template: string, args: readonly unknown[]): string {
  if (args.length === 0) return template;
  try {
    return vsprintf(template, args as unknown[]);
  } catch (error) {
    throw new PalaverError(
      'INVALID_TEMPLATE',
      `The template ${JSON.stringify(template.length > 80 ? template.slice(0, 80) + '…' : template)} does not fit its ` +
        `${args.length} argument${args.length === 1 ? '' : 's'}: ${(error as Error).message}. ` +
        `Named parameters need a type after them, e.g. '%(name)s', and '%%' writes a percent sign.`,
      { cause: error },
    );
  }
}
