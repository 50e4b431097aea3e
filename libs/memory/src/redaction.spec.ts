import { TOKEN_PREFIX } from '@molecule/auth';
import { generateToken } from '@molecule/crypto';
import { redactSecrets } from './redaction';

const redacted = (text: string) => redactSecrets(text).text;

describe('redactSecrets', () => {
  it.each([
    ['an env-style API key', 'OPENAI_API_KEY=abc123def456ghi', 'OPENAI_API_KEY=[REDACTED:api-key]'],
    ['an env-style token', 'GITHUB_TOKEN=plainvalue', 'GITHUB_TOKEN=[REDACTED:token]'],
    ['an env-style secret', 'STRIPE_SECRET=whsec_12345', 'STRIPE_SECRET=[REDACTED:secret]'],
    ['a password', 'db password = "correct horse"', 'db password = "[REDACTED:password]"'],
    ['a JSON token', '{"accessToken": "abc.def.ghi"}', '{"accessToken": "[REDACTED:token]"}'],
    ['a YAML client secret', 'client_secret: s3cr3t-value', 'client_secret: [REDACTED:secret]'],
    [
      'an AWS secret access key',
      'aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
      'aws_secret_access_key = [REDACTED:api-key]',
    ],
    [
      'a bearer token',
      'Authorization: Bearer abc123.def456-ghi',
      'Authorization: Bearer [REDACTED:bearer-token]',
    ],
    [
      'basic auth',
      'Authorization: Basic dXNlcjpwYXNz',
      'Authorization: Basic [REDACTED:basic-auth]',
    ],
    [
      'an OpenAI-style key',
      'use sk-proj-AbCdEf0123456789xyz for it',
      'use [REDACTED:api-key] for it',
    ],
    ['an Anthropic key', 'key sk-ant-api03-abcdefghijklmnop_QRS', 'key [REDACTED:api-key]'],
    ['an AWS access key id', 'id AKIAIOSFODNN7EXAMPLE here', 'id [REDACTED:aws-access-key] here'],
    [
      'a GitHub token',
      `ghp_${'a1B2'.repeat(9)} and github_pat_${'x'.repeat(30)}`,
      '[REDACTED:github-token] and [REDACTED:github-token]',
    ],
    ['a Slack token', 'xoxb-1234567890-abcdef', '[REDACTED:slack-token]'],
    [
      'a JWT',
      'jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
      'jwt [REDACTED:jwt]',
    ],
    [
      'a password in a URL',
      'postgres://app:hunter22@db.internal:5432/app',
      'postgres://app:[REDACTED:password]@db.internal:5432/app',
    ],
    [
      'a secret in a URL path',
      'post to https://hooks.slack.com/services/T0000/B0000/AbCdEfGh1234567890XyZw12',
      'post to https://hooks.slack.com/services/T0000/B0000/[REDACTED:url-secret]',
    ],
    [
      'a token in a query string',
      'https://example.com/cb?access_token=abcdef123456&x=1',
      'https://example.com/cb?access_token=[REDACTED:token]&x=1',
    ],
    [
      'a long base64 blob',
      'blob: QmFzZTY0RW5jb2RlZFNlY3JldFZhbHVlMTIzNDU2Nzg5MA== end',
      'blob: [REDACTED:base64-blob] end',
    ],
  ])('redacts %s', (_what, input, expected) => {
    expect(redacted(input)).toBe(expected);
  });

  it('redacts a PEM private key whole, with or without its END line', () => {
    const pem = [
      '-----BEGIN RSA PRIVATE KEY-----',
      'MIIEowIBAAKCAQEA1234567890abcdefghij',
      'klmnopqrstuvwxyz==',
      '-----END RSA PRIVATE KEY-----',
    ].join('\n');
    expect(redacted(`before\n${pem}\nafter`)).toBe('before\n[REDACTED:private-key]\nafter');
    expect(redacted('x -----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA')).toBe(
      'x [REDACTED:private-key]',
    );
  });

  it("redacts every one of Molecule's own token kinds", () => {
    const prefixes = [...Object.values(TOKEN_PREFIX), 'mol_tenant', 'mol_admin'];
    for (const prefix of prefixes) {
      const token = generateToken(prefix);
      expect(redacted(`token is ${token}.`)).toBe('token is [REDACTED:molecule-token].');
    }
  });

  it('counts redactions by label', () => {
    const result = redactSecrets('A_TOKEN=abcdef1 B_TOKEN=abcdef2 sk-abcdefghijklmnopqrst');
    expect(result.redactions).toEqual({ token: 2, 'api-key': 1 });
    expect(redactSecrets('nothing to see').redactions).toEqual({});
  });

  it.each([
    ['prose about tokens', 'The token: the one from before. Use max_tokens: 100000000 here.'],
    [
      'a URL without secrets',
      'Docs at https://github.com/Molecule-AI/molecule-core/blob/main/README.md',
    ],
    [
      'UUIDs and hashes',
      'workspace 2f1c9a3e-8d4b-4c1a-9e0f-1234567890ab, sha 447a3425d3c1e0f4b9a8',
    ],
    ['a hex digest', 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'],
    ['a file path', '/usr/local/lib/node_modules/typescript/lib/typescript.js'],
    ['words after Bearer', 'The bearer of bad news'],
    ['words after Basic', 'Basic authentication is simple; basic stuff'],
    ['a short display prefix', 'key mol_ok_Ab3dEf was revoked'],
    ['a URL parameter name', 'TOKEN_URL=https://auth.example.com/token'],
  ])('leaves %s alone', (_what, input) => {
    expect(redacted(input)).toBe(input);
  });

  it('does not re-redact its own markers or mangle them', () => {
    const once = redacted('OPENAI_API_KEY=sk-abcdefghijklmnopqrstuv');
    expect(once).toBe('OPENAI_API_KEY=[REDACTED:api-key]');
    expect(redacted(once)).toBe(once);
  });

  it('stays fast on pathological input', () => {
    const inputs = [
      'a-'.repeat(8000),
      'x'.repeat(16_000),
      'token:'.repeat(3000),
      '-----BEGIN PRIVATE KEY-----'.repeat(500),
      'https://a.b/'.repeat(1500),
    ];
    const started = Date.now();
    for (const input of inputs) redactSecrets(input);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});
