import { describe, expect, it } from '@jest/globals';
import { bearerCheck } from './bearer-auth';

const TOKEN = 'mol_ta_unit-test-token-0123456789abcdefghijkl';

describe('bearerCheck', () => {
  const authorized = bearerCheck(TOKEN);

  it('accepts the token under the Bearer scheme, in any case', () => {
    expect(authorized(`Bearer ${TOKEN}`)).toBe(true);
    expect(authorized(`bearer ${TOKEN}`)).toBe(true);
  });

  it.each([
    ['no header', undefined],
    ['an empty header', ''],
    ['an empty token', 'Bearer '],
    ['another scheme', `Basic ${TOKEN}`],
    ['the bare token', TOKEN],
    ['a prefix', `Bearer ${TOKEN.slice(0, -1)}`],
    ['a longer token', `Bearer ${TOKEN}a`],
    ['two tokens', `Bearer ${TOKEN} ${TOKEN}`],
  ])('refuses %s', (_what, header) => {
    expect(authorized(header)).toBe(false);
  });

  it('never matches an empty expected token against a missing one', () => {
    expect(bearerCheck('')(undefined)).toBe(false);
    expect(bearerCheck('')('Bearer ')).toBe(false);
  });
});
