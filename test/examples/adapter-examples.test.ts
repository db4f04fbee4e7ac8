// Each adapter example runs by itself with ts-node, prints its conversation, and exits.
import { describe, expect, it } from 'vitest';
import { run } from './run-example';

describe.concurrent('the adapter examples', { timeout: 60_000 }, () => {
  it('examples/chat.ts chats through the console adapter when its input is piped', async () => {
    const { code, stdout } = await run('examples/chat.ts', 'hi\nLars\n/timeout\nhello\n');
    expect({
      code,
      lines: stdout
        .split('\n')
        .filter((line) => line.startsWith('Botty>') || line.startsWith('you>') || line.includes('ended')),
    }).toEqual({
      code: 0,
      lines: [
        'you> hi',
        "Botty> Hi, I'm Botty. What's your name?",
        'you> Lars',
        'Botty> Hi Lars. What is your phone number?',
        'you> /timeout',
        expect.stringMatching(/^\[session \w+ ended: timeout; kept UserName\]$/),
        'you> hello',
        'Botty> Hi Lars. What is your phone number?',
      ],
    });
  });

  it('examples/http.ts talks to the HTTP adapter over loopback, including a bad request and a pushed message', async () => {
    const { code, stdout } = await run('examples/http.ts');
    expect({ code, stdout }).toEqual({
      code: 0,
      stdout: [
        'user> hi',
        "  bot> Hi, I'm Botty. What's your name?",
        'user> Lars',
        '  bot> Hi Lars. What is your phone number?',
        'user> 555-555-5555',
        '  bot> Can you tell Botty your location, Lars?',
        'user> Seattle',
        '  bot> So, Lars, you are in Seattle',
        '  bot> Done',
        'user> (a body that is not JSON)',
        '  400 {"error":{"code":"INVALID_JSON","message":"The body is not valid JSON: Unexpected end of JSON input"}}',
        '  [pushed to lars] Your pizza is on its way!',
        '',
      ].join('\n'),
    });
  });

  it('examples/grammy.ts runs offline, printing the Bot API calls', async () => {
    const { code, stdout } = await run('examples/grammy.ts');
    expect({ code, calls: stdout.split('\n').filter((line) => line.includes('→')) }).toEqual({
      code: 0,
      calls: [
        `  → sendMessage {"text":"Hi, I'm Botty. What's your name?"}`,
        '  → sendMessage {"text":"Hi Lars. What is your phone number?"}',
        '  → sendMessage {"text":"Can you tell Botty your location, Lars?"}',
        '  → sendMessage {"text":"So, Lars, you are in Seattle"}',
        '  → sendMessage {"text":"Done"}',
      ],
    });
  });

  it('examples/botbuilder.ts runs on the TestAdapter, proactive message included', async () => {
    const { code, stdout } = await run('examples/botbuilder.ts');
    expect({ code, replies: stdout.split('\n').filter((line) => line.startsWith('  bot>')) }).toEqual({
      code: 0,
      replies: [
        "  bot> Hi, I'm Botty. What's your name?",
        '  bot> Hi Lars. What is your phone number?',
        '  bot> Can you tell Botty your location, Lars?',
        '  bot> So, Lars, you are in Seattle',
        '  bot> Done',
        '  bot> Your pizza is on its way!',
      ],
    });
  });
});
