import fc from 'fast-check';
import { vsprintf } from 'sprintf-js';
import { describe, expect, it } from 'vitest';
import { formatText } from '../src/format';

describe('formatText', () => {
  it('expands positional placeholders in order', () => {
    expect(formatText('Hello %s, you have %d new messages', ['Lars', 3])).toBe('Hello Lars, you have 3 new messages');
  });

  it('expands explicit argument numbers', () => {
    expect(formatText('%2$s %1$s', ['world', 'hello'])).toBe('hello world');
  });

  it('expands named placeholders from the first argument', () => {
    expect(formatText('Hello there %(name)s', [{ name: 'Lars' }])).toBe('Hello there Lars');
  });

  it('expands nested named placeholders', () => {
    expect(formatText('%(user.name)s owns %(pets[1])s', [{ user: { name: 'Lars' }, pets: ['a cat', 'a dog'] }])).toBe(
      'Lars owns a dog',
    );
  });

  it('writes a percent sign for %% when there are arguments', () => {
    expect(formatText('%d%% done', [50])).toBe('50% done');
  });

  it('returns text without arguments as it is, percent signs included', () => {
    expect(formatText('100% sure: %s and %(name) stay', [])).toBe('100% sure: %s and %(name) stay');
  });

  it('prints null as null (only undefined is missing)', () => {
    expect(formatText('value: %s', [null])).toBe('value: null');
  });

  it('ignores arguments the template does not use', () => {
    expect(formatText('Hello %(name)s', [{ name: 'Lars', age: 37 }, 'extra'])).toBe('Hello Lars');
  });

  it('rejects a positional placeholder without an argument', () => {
    expect(() => formatText('Hello %s and %s', ['Lars'])).toThrow(
      expect.objectContaining({ code: 'INVALID_TEMPLATE' }),
    );
  });

  it('says which placeholder lacks its argument', () => {
    expect(() => formatText('Hello %s and %s', ['Lars'])).toThrow(/%s needs argument 2, but only 1 was given/);
  });

  it('rejects an explicit argument number past the arguments', () => {
    expect(() => formatText('%3$s', ['a', 'b'])).toThrow(expect.objectContaining({ code: 'INVALID_TEMPLATE' }));
  });

  it('rejects a named placeholder whose key the object lacks', () => {
    expect(() => formatText('Hello %(name)s', [{ nome: 'Lars' }])).toThrow(/has no `name`/);
  });

  it('rejects a nested named placeholder whose key is missing', () => {
    expect(() => formatText('Hello %(user.name)s', [{ user: {} }])).toThrow(
      expect.objectContaining({ code: 'INVALID_TEMPLATE' }),
    );
  });

  it('rejects an undefined argument', () => {
    expect(() => formatText('Hello %s!', [undefined])).toThrow(/argument 1 \(for %s\) is undefined/);
  });

  it('rejects a named placeholder without its type, keeping the cause', () => {
    let caught: unknown;
    try {
      formatText('Hello there %(name)', [{ name: 'Lars' }]);
    } catch (error) {
      caught = error;
    }
    expect(caught).toMatchObject({ code: 'INVALID_TEMPLATE', cause: expect.any(Error) });
  });

  it('tells how to write a named placeholder when the template is malformed', () => {
    expect(() => formatText('Hello there %(name)', [{ name: 'Lars' }])).toThrow(/'%\(name\)s'/);
  });

  it('rejects a number placeholder given text', () => {
    expect(() => formatText('%d items', ['many'])).toThrow(expect.objectContaining({ code: 'INVALID_TEMPLATE' }));
  });

  it('rejects a template that mixes positional and named placeholders', () => {
    expect(() => formatText('%s %(name)s', [{ name: 'x' }])).toThrow(
      expect.objectContaining({ code: 'INVALID_TEMPLATE' }),
    );
  });

  it('checks the same template again with other arguments (the parse is cached, the check is not)', () => {
    expect(formatText('Hi %s', ['a'])).toBe('Hi a');
    expect(() => formatText('Hi %s', [undefined])).toThrow(expect.objectContaining({ code: 'INVALID_TEMPLATE' }));
  });

  it('lets an explicit argument number and a bare placeholder read the same argument', () => {
    expect(formatText('%1$s and %s', ['x'])).toBe('x and x');
  });

  it('says how many arguments were given when more than one was', () => {
    expect(() => formatText('%s %s %s', ['a', 'b'])).toThrow(/%s needs argument 3, but only 2 were given/);
  });

  it('reads a key after an array index in a named placeholder', () => {
    expect(formatText('Hi %(rows[0].name)s', [{ rows: [{ name: 'Ada' }] }])).toBe('Hi Ada');
  });

  it('rejects a named placeholder whose array index is past the end of the array', () => {
    expect(() => formatText('%(pets[12])s', [{ pets: ['a cat', 'a dog'] }])).toThrow(/has no `pets\.12`/);
  });

  it('rejects an explicit argument number of two digits past the arguments', () => {
    expect(() => formatText('%10$s', ['a', 'b'])).toThrow(/%10\$s needs argument 10, but only 2 were given/);
  });

  it('reads an array index after a nested key in a named placeholder', () => {
    expect(formatText('Hi %(user.pets[1])s', [{ user: { pets: ['a cat', 'a dog'] } }])).toBe('Hi a dog');
  });

  it('says what sprintf-js found wrong with a malformed template', () => {
    expect(() => formatText('Hello there %(name)', [{ name: 'Lars' }])).toThrow(
      /does not fit its 1 argument: unexpected placeholder/i,
    );
  });

  it('tells how to write a named placeholder and a percent sign when sprintf-js rejects a template', () => {
    expect(() => formatText('Hello there %(name)', [{ name: 'Lars' }])).toThrow(
      / Named placeholders need a type after them \('%\(name\)s'\), and '%%' writes a percent sign\.$/,
    );
  });

  it('writes the template, the number of arguments and the problem into the error, and nothing more', () => {
    // 80 characters: the longest template shown whole.
    const template = 'x'.repeat(72) + '%s %s %s';
    expect(() => formatText(template, ['a', 'b'])).toThrow(
      expect.objectContaining({
        message: `The template "${template}" does not fit its 2 arguments: the placeholder %s needs argument 3, but only 2 were given.`,
      }),
    );
  });

  it('shows at most the first 80 characters of a long template in the error', () => {
    const template = 'x'.repeat(90) + ' %s %s';
    expect(() => formatText(template, ['a'])).toThrow(
      `The template "${'x'.repeat(80)}…" does not fit its 1 argument: `,
    );
  });

  it.each(['%+d', '%05d', "%'x5s", '%-5s', '%5s', '%10s', '%.2f', '%.10f'])(
    'counts a placeholder with flags, width or precision (%s) as reading the next argument',
    (first) => {
      expect(() => formatText(`${first} %s`, [1])).toThrow(/the placeholder %s needs argument 2, but only 1 was given/);
    },
  );

  it.each([...'bcdefgijostTuvxX'])('counts a placeholder of type %s as reading the next argument', (type) => {
    expect(() => formatText(`%${type} %s`, [1])).toThrow(/the placeholder %s needs argument 2, but only 1 was given/);
  });

  it('writes plain %s templates as sprintf-js does, for strings and numbers', () => {
    // Pieces with no other placeholder letter after a lone '%': sprintf-js rejects those templates.
    const piece = fc.constantFrom('%s', '%%', '%', ' ', 'a', 'Hi ', '!', '');
    const arg = fc.oneof(fc.string({ maxLength: 4 }), fc.double(), fc.integer(), fc.constantFrom(-0, NaN, Infinity));
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 6 }), fc.array(arg, { minLength: 1, maxLength: 4 }), (pieces, args) => {
        const template = pieces.join('');
        let slots = 0;
        let malformed = false;
        for (let i = 0; i < template.length; i++) {
          if (template[i] !== '%') continue;
          if (template[i + 1] === 's') slots++;
          else if (template[i + 1] !== '%') malformed = true;
          i++;
        }
        const expected = malformed || slots > args.length ? 'INVALID_TEMPLATE' : vsprintf(template, args);
        let actual: unknown;
        try {
          actual = formatText(template, args);
        } catch (error) {
          actual = (error as { code?: string }).code;
        }
        expect(actual).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });
});
