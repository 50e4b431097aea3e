import { describe, expect, it } from '@jest/globals';
import { RuntimeCatalog } from './runtime-catalog';

describe('RuntimeCatalog', () => {
  const catalog = new RuntimeCatalog();

  it('loads the committed catalog, including the reference runtime', () => {
    expect(catalog.get('reference')).toMatchObject({ requiredKeys: [] });
    expect(catalog.list().length).toBeGreaterThan(1);
  });

  it('names the required keys that are missing', () => {
    const claude = catalog.get('claude-agent')!;
    expect(catalog.missingKeys(claude, [])).toEqual(['ANTHROPIC_API_KEY']);
    expect(catalog.missingKeys(claude, ['ANTHROPIC_API_KEY'])).toEqual([]);
  });

  it('refuses a malformed catalog', () => {
    expect(() => new RuntimeCatalog([{ id: 'x' }])).toThrow();
    const dup = {
      id: 'dup',
      name: 'd',
      description: '',
      requiredKeys: [],
      image: 'i',
      amis: {},
      install: [],
      provisionTimeoutSeconds: 60,
    };
    expect(() => new RuntimeCatalog([dup, dup])).toThrow('unique');
  });
});
