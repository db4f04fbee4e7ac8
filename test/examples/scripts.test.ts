// Every scripted example runs as its header says (npx ts-node examples/<name>.ts), talks, and exits cleanly.
import { describe, expect, it } from 'vitest';
import { run } from './run-example';

const scripted: [example: string, firstLine: string, botLines: number][] = [
  ['ask-name', 'user> hi', 2],
  ['cards', 'user> show me cards', 4],
  ['ensure-profile', 'user> hi', 4],
  ['list-items', 'user> what do I have?', 1],
  ['nlu-http', 'user> hello', 6],
  ['order-pizza', 'user> hi', 7],
  ['phone-prompt', 'user> hi', 3],
  ['pictures', 'user> show me a picture', 4],
  ['receipt', 'user> receipt please', 4],
  ['reminder', 'user> book a table', 6],
  ['serverless-expiry', 'webhook: user> hi', 2],
  ['session-callbacks', 'user> hi', 10],
  ['still-there', 'user> hello', 6],
  ['text-adventure', 'user> hi', 11],
  ['text-adventure-data', 'user> hi', 5],
  ['typed-entities', 'user> my name is Lars Nilsson', 6],
  ['typed-order', 'user> hi', 6],
  ['typing', 'user> hi', 2],
];

describe.concurrent('the scripted examples', { timeout: 60_000 }, () => {
  it.each(scripted)('examples/%s.ts plays its conversation and exits with 0', async (example, firstLine, botLines) => {
    const { code, stdout, stderr } = await run(`examples/${example}.ts`);
    const lines = stdout.split('\n');
    expect({
      code,
      stderr,
      first: lines.find((line) => line.includes('user> ')),
      botLines: lines.filter((line) => line.includes('bot> ')).length,
    }).toEqual({ code: 0, stderr: '', first: expect.stringContaining(firstLine), botLines });
  });
});
