// Types that guide: prompt results carried through waterfalls, templates checked by the compiler, prompt templates.
import { describe, expectTypeOf, it } from 'vitest';
import {
  Prompts,
  ResumeReason,
  SessionManager,
  type DialogResult,
  type FoundChoice,
  type PromptResult,
  type Session,
  type TemplateArgs,
  type WaterfallStep,
} from '../src';

type Entities = { UserName?: string; Size?: 'Small' | 'Medium' | 'Large'; Quantity?: number };
const bot = new SessionManager<Entities>({ deliver: () => {} });
const address = { channelId: 'c', user: { id: 'u' }, conversation: { id: 'c' } };

describe('typed waterfalls', () => {
  it('gives the step after Prompts.text a PromptResult<string>', () => {
    bot.dialog('/', [
      (session) => Prompts.text(session, 'Name?'),
      (_session, results) => {
        expectTypeOf(results).toEqualTypeOf<PromptResult<string>>();
        if (results.resumed === ResumeReason.completed) expectTypeOf(results.response).toEqualTypeOf<string>();
      },
    ]);
  });

  it('types number, confirm and choice answers, and chains them step after step', () => {
    bot.dialog('/', [
      (session) => Prompts.number(session, 'How many?'),
      (session, results) => {
        expectTypeOf(results).toEqualTypeOf<PromptResult<number>>();
        return Prompts.confirm(session, 'Sure?');
      },
      (session, results) => {
        expectTypeOf(results).toEqualTypeOf<PromptResult<boolean>>();
        return Prompts.choice(session, 'Size?', ['Small', 'Medium', 'Large']);
      },
      (session, results) => {
        expectTypeOf(results).toEqualTypeOf<PromptResult<FoundChoice<'Small' | 'Medium' | 'Large'>>>();
        if (results.resumed === ResumeReason.completed) session.entities.Size = results.response.entity;
      },
    ]);
  });

  it('types the answer of an async step that returns a prompt', () => {
    bot.dialog('/', [
      async (session) => {
        await Promise.resolve();
        return Prompts.number(session, 'How many?');
      },
      (_session, results) => expectTypeOf(results).toEqualTypeOf<PromptResult<number>>(),
    ]);
  });

  it('types choices given as an object or as "a|b" by their names', () => {
    bot.dialog('/', [
      (session) => Prompts.choice(session, 'Pick', 'red | green|blue'),
      (session, results) => {
        expectTypeOf(results).toEqualTypeOf<PromptResult<FoundChoice<'red' | 'green' | 'blue'>>>();
        return Prompts.choice(session, 'Pick', { Pizza: 1, Pasta: 2 });
      },
      (_session, results) => expectTypeOf(results).toEqualTypeOf<PromptResult<FoundChoice<'Pizza' | 'Pasta'>>>(),
    ]);
  });

  it('gives DialogResult<unknown> after a step that does not return a prompt, never any', () => {
    bot.dialog('/', [
      (session) => session.beginDialog('/child'),
      (session, results) => {
        expectTypeOf(results).toEqualTypeOf<DialogResult>();
        expectTypeOf(results.response).toEqualTypeOf<unknown>();
        Prompts.text(session, 'called but not returned');
      },
      (_session, results) => expectTypeOf(results).toEqualTypeOf<DialogResult>(),
    ]);
  });

  it('keeps the prompt’s type when the step’s other paths end or replace the dialog', () => {
    bot.dialog('/', [
      (session) => Prompts.number(session, 'How many?'),
      (session, results) => {
        if (results.resumed !== ResumeReason.completed) return session.endConversation('Never mind.');
        if (results.response > 10) return session.replaceDialog('/');
        if (results.response === 0) return session.endDialog();
        if (results.response < 0) return session.endDialogWithResult({ response: 0 });
        return Prompts.confirm(session, ['%d, right?', results.response]);
      },
      (_session, results) => expectTypeOf(results).toEqualTypeOf<PromptResult<boolean>>(),
    ]);
  });

  it('gives DialogResult<unknown> after a step that returns a prompt on some paths only', () => {
    bot.dialog('/', [
      (session, _args, next) => (session.entities.UserName ? next() : Prompts.text(session, 'Name?')),
      (_session, results) => expectTypeOf(results).toEqualTypeOf<DialogResult>(),
    ]);
  });

  it('types the first step’s args as unknown unless the step annotates them', () => {
    bot.dialog('/a', [(_session, args) => expectTypeOf(args).toEqualTypeOf<unknown>()]);
    bot.dialog('/b', [(_session, args: { id: string }) => expectTypeOf(args.id).toEqualTypeOf<string>()]);
  });

  it('lets a step annotate what a child dialog returned', () => {
    bot.dialog('/', [
      (session) => session.beginDialog('/askName'),
      (_session, results: DialogResult<string>) => expectTypeOf(results.response).toEqualTypeOf<string | undefined>(),
    ]);
  });

  it('refuses an annotation that contradicts the prompt', () => {
    bot.dialog('/', [
      (session) => Prompts.text(session, 'Name?'),
      // @ts-expect-error: the prompt answers a string, not a number
      (_session, results: DialogResult<number>) => results,
    ]);
  });

  it('refuses reading an answer as the wrong type', () => {
    bot.dialog('/', [
      (session) => Prompts.number(session, 'How many?'),
      (_session, results) => {
        if (results.resumed !== ResumeReason.completed) return;
        // @ts-expect-error: a number prompt's answer is a number
        const text: string = results.response;
        return text;
      },
    ]);
  });

  it('refuses using the answer before checking that the prompt was answered', () => {
    bot.dialog('/', [
      (session) => Prompts.text(session, 'Name?'),
      // @ts-expect-error: response is undefined when the prompt ended without an answer
      (session, results) => session.send('Hello %s', results.response),
    ]);
  });

  it('keeps an array built elsewhere compiling, its results unknown', () => {
    const steps: WaterfallStep<Session<Entities>>[] = [
      (session) => Prompts.text(session, 'Name?'),
      (_session, results) => expectTypeOf(results).toEqualTypeOf<unknown>(),
    ];
    bot.dialog('/', steps);
  });

  it('types a waterfall of twelve steps, and one longer with unknown results', () => {
    bot.dialog('/', [
      (s) => s,
      (s) => s,
      (s) => s,
      (s) => s,
      (s) => s,
      (s) => s,
      (s) => s,
      (s) => s,
      (s) => s,
      (s) => s,
      (s) => Prompts.confirm(s, 'ok?'),
      (_s, results) => expectTypeOf(results).toEqualTypeOf<PromptResult<boolean>>(),
    ]);
    bot.dialog('/long', [
      (s) => s,
      (s) => s,
      (s) => s,
      (s) => s,
      (s) => s,
      (s) => s,
      (s) => s,
      (s) => s,
      (s) => s,
      (s) => s,
      (s) => s,
      (s) => Prompts.confirm(s, 'ok?'),
      (_s, results) => expectTypeOf(results).toEqualTypeOf<unknown>(),
    ]);
  });

  it('types a single-function dialog’s argument as unknown unless annotated', () => {
    bot.dialog('/f', (_session, args) => expectTypeOf(args).toEqualTypeOf<unknown>());
    bot.dialog('/g', (_session, args: { offer: string } | undefined) =>
      expectTypeOf(args).toEqualTypeOf<{ offer: string } | undefined>(),
    );
  });
});

describe('templates checked by the compiler', () => {
  it('reads the arguments a literal template needs', () => {
    expectTypeOf<TemplateArgs<'Hello %s'>>().toEqualTypeOf<[{}]>();
    expectTypeOf<TemplateArgs<'%d items for %s'>>().toEqualTypeOf<[number | bigint, {}]>();
    expectTypeOf<TemplateArgs<'%.2f%% off, %x'>>().toEqualTypeOf<[number, number]>();
    expectTypeOf<TemplateArgs<'Hi %(name)s, %(age)d'>>().toEqualTypeOf<[values: { name: {}; age: number | bigint }]>();
    expectTypeOf<TemplateArgs<'Hi %(user.name)s'>>().toEqualTypeOf<[values: { user: { name: {} } }]>();
    expectTypeOf<TemplateArgs<'no placeholders'>>().toEqualTypeOf<[]>();
    expectTypeOf<TemplateArgs<'50% off'>>().toEqualTypeOf<[]>();
  });

  it('falls back to run-time checks for a string, a message object, and indexed placeholders', () => {
    expectTypeOf<TemplateArgs<string>>().toEqualTypeOf<unknown[]>();
    expectTypeOf<TemplateArgs<{ text: string }>>().toEqualTypeOf<unknown[]>();
    expectTypeOf<TemplateArgs<'%2$s %1$s'>>().toEqualTypeOf<unknown[]>();
  });

  it('checks session.send’s arguments against a literal template', () => {
    bot.dialog('/', (session) => {
      session.send('Hello %s, you ordered %d', 'Lars', 2);
      session.send('Hello %(name)s', { name: 'Lars' });
      session.send('100% sure'); // no placeholders read: sent as written
      const template: string = session.message?.text ?? '';
      session.send(template, 1, 2, 3); // not a literal: checked when sent
      // @ts-expect-error: the name may be unset, and undefined would throw INVALID_TEMPLATE
      session.send('Hello %s', session.entities.UserName);
      // @ts-expect-error: one argument missing
      session.send('Hello %s and %s', 'Lars');
      // @ts-expect-error: one argument too many
      session.send('Hello %s', 'Lars', 'Ada');
      // @ts-expect-error: %d needs a number
      session.send('%d items', 'two');
      // @ts-expect-error: the object lacks the named key
      session.send('Hello %(name)s', { nom: 'Lars' });
      // @ts-expect-error: a template without placeholders takes no arguments
      session.send('Hello', 'Lars');
    });
  });

  it('checks endDialog, endConversation and manager.send the same way', () => {
    bot.dialog('/', (session) => {
      session.endDialog('Bye %s', 'Lars');
      // @ts-expect-error: argument missing
      session.endDialog('Bye %s');
      session.endConversation('Done, %d left', 3);
      // @ts-expect-error: %d needs a number
      session.endConversation('Done, %d left', '3');
      session.endDialog();
    });
    void bot.send(address, 'Your %s pizza is on its way!', 'pepperoni');
    // @ts-expect-error: argument missing
    void bot.send(address, 'Your %s pizza is on its way!');
  });
});

describe('prompts with templates', () => {
  it('takes a template and its arguments as one tuple, checked like send', () => {
    bot.dialog('/', (session) => {
      Prompts.choice(session, ['What can I do, %s?', 'Lars'], ['Order', 'Support']);
      Prompts.text(session, ['%(name)s, your email?', { name: 'Lars' }], { maxRetries: 2 });
      // @ts-expect-error: the name may be unset
      Prompts.text(session, ['Hi %s, your email?', session.entities.UserName]);
      // @ts-expect-error: %d needs a number
      Prompts.number(session, ['How many of %d?', 'ten']);
    });
  });

  it('refuses a template argument in the options slot', () => {
    bot.dialog('/', (session) => {
      // @ts-expect-error: the third argument is the options
      Prompts.confirm(session, 'Open a ticket for "%s"?', 'printer');
    });
  });
});
