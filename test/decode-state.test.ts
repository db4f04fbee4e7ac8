// decodeState is public: bad input to it is a PalaverError with a code (CORRUPT_STATE), as from every entry point.
import { describe, expect, it } from 'vitest';
import { decodeState, PalaverError } from '../src';

describe('decodeState (public)', () => {
  it('throws a PalaverError with a code for text that is not JSON', () => {
    expect(() => decodeState('{not json')).toThrow(PalaverError);
    expect(() => decodeState('{not json')).toThrow(expect.objectContaining({ code: 'CORRUPT_STATE' }));
  });

  it('throws a PalaverError with a code for JSON that is not a session state', () => {
    expect(() => decodeState('[2, null]')).toThrow(expect.objectContaining({ code: 'CORRUPT_STATE' }));
  });
});
