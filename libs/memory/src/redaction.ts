/**
 * Secret redaction for agent memory. Memories are read back into other agents' prompts, so a
 * credential that an agent writes down would spread through the org. Everything that looks like
 * one is replaced with `[REDACTED:<label>]` before the content is stored.
 *
 * The rules err towards redacting: a false positive costs a word of context, a false negative
 * leaks a credential. Ids and hashes (UUIDs, hex digests) stay readable because agents need them
 * and they grant nothing.
 */

export interface RedactionResult {
  text: string;
  /** How many values each rule replaced, by label; empty when nothing was redacted. */
  redactions: Record<string, number>;
}

type Replacer = (counts: Map<string, number>) => (match: string, ...groups: unknown[]) => string;

interface Rule {
  pattern: RegExp;
  replace: Replacer;
}

const marker = (label: string) => `[REDACTED:${label}]`;

function count(counts: Map<string, number>, label: string): string {
  counts.set(label, (counts.get(label) ?? 0) + 1);
  return marker(label);
}

/** The whole match is the secret. */
const whole =
  (label: string): Replacer =>
  (counts) =>
  () =>
    count(counts, label);

const UPPER = /[A-Z]/;
const LOWER = /[a-z]/;
const DIGIT = /[0-9]/;

/** Random-looking: upper- and lower-case letters and digits all present. */
function mixed(value: string): boolean {
  return UPPER.test(value) && LOWER.test(value) && DIGIT.test(value);
}

/** A value after a credential-like name or scheme: long enough, or not a plain word. */
function credentialLike(value: string): boolean {
  if (value.startsWith('[REDACTED:')) return false;
  if (value.length >= 20) return true;
  return value.length >= 6 && /[^A-Za-z]/.test(value);
}

// Names whose value is a credential: `OPENAI_API_KEY=`, `"accessToken": "…"`, `db.password: …`.
// The name must end with the keyword (`TOKEN_URL=` and `max_tokens:` are not credentials).
const CREDENTIAL_NAME =
  '[A-Za-z0-9_.-]*?(?:api[_-]?key|access[_-]?key|secret[_-]?key|private[_-]?key|auth[_-]?key|client[_-]?secret|secret|token|password|passwd|passphrase|credentials?)';
const ASSIGNMENT = new RegExp(
  `(?<![A-Za-z0-9_.-])(${CREDENTIAL_NAME})(?![A-Za-z0-9_])` +
    `(["']?[ \\t]*[:=][ \\t]*)(?:"([^"\\r\\n]*)"|'([^'\\r\\n]*)'|([^\\s"'\`,;&<>)\\]}]+))`,
  'gi',
);

function labelOfName(name: string): string {
  const lower = name.toLowerCase();
  if (/(api|access|secret|private|auth)[_-]?key$/.test(lower)) return 'api-key';
  if (lower.endsWith('token')) return 'token';
  if (/(password|passwd|passphrase)$/.test(lower)) return 'password';
  if (/credentials?$/.test(lower)) return 'credentials';
  return 'secret';
}

const assignment: Replacer =
  (counts) =>
  (match, name, separator, doubleQuoted, singleQuoted, bare): string => {
    const value = (doubleQuoted ?? singleQuoted ?? bare) as string | undefined;
    // A quoted value or `NAME=value` is a credential by position; after a bare `name:` in
    // prose ("token: the one from before") only a value that does not read as a word is.
    const positional =
      doubleQuoted !== undefined || singleQuoted !== undefined || String(separator).includes('=');
    if (!value || value.startsWith('[REDACTED:')) return match;
    if (!positional && !credentialLike(value)) return match;
    if (positional && value.length < 4) return match;
    const redacted = count(counts, labelOfName(String(name)));
    const quote = doubleQuoted !== undefined ? '"' : singleQuoted !== undefined ? "'" : '';
    return `${String(name)}${String(separator)}${quote}${redacted}${quote}`;
  };

// Basic credentials are base64 of `user:password`; a word after "basic" in prose decodes to
// noise without a colon.
const basicCredentials = (value: string) =>
  value.length >= 8 && Buffer.from(value, 'base64').toString('latin1').includes(':');

const scheme: Replacer =
  (counts) =>
  (match, name, space, value): string => {
    const credential = String(value);
    const basic = String(name).toLowerCase() === 'basic';
    if (basic ? !basicCredentials(credential) : !credentialLike(credential)) return match;
    return `${String(name)}${String(space)}${count(counts, basic ? 'basic-auth' : 'bearer-token')}`;
  };

// URL path and query segments of at least this length that look random are redacted (webhook
// URLs carry their secret in the path).
const URL_SEGMENT_MIN = 20;
const URL_SEGMENT = new RegExp(`(?<=[/?&=#])[A-Za-z0-9_-]{${URL_SEGMENT_MIN},}(?=[/?&=#]|$)`, 'g');
const URL_PASSWORD = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s:/@]+:)([^\s@/]+)@/;

const urlsAndBlobs: Replacer =
  (counts) =>
  (match, url, blob): string => {
    if (typeof url === 'string') {
      const withoutPassword = url.replace(URL_PASSWORD, (_m, head: string, password: string) =>
        password.startsWith('[REDACTED:') ? _m : `${head}${count(counts, 'password')}@`,
      );
      return withoutPassword.replace(URL_SEGMENT, (segment) =>
        mixed(segment) ? count(counts, 'url-secret') : segment,
      );
    }
    return typeof blob === 'string' && mixed(blob) ? count(counts, 'base64-blob') : match;
  };

/** Applied in order: specific formats first, so their labels survive the generic rules. */
const RULES: readonly Rule[] = [
  {
    // PEM and PGP private keys, up to their END line (or the end of the text if it is missing).
    pattern:
      /-----BEGIN [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----[\s\S]*?(?:-----END [A-Z0-9 ]*PRIVATE KEY[A-Z ]*-----|$)/g,
    replace: whole('private-key'),
  },
  // Our own credentials: mol_ok_, mol_pk_, mol_ws_, mol_wb_, mol_tenant_, mol_admin_ …
  { pattern: /\bmol_[a-z0-9]+_[A-Za-z0-9_-]{16,}/g, replace: whole('molecule-token') },
  {
    pattern: /\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA|APKA)[A-Z0-9]{16}\b/g,
    replace: whole('aws-access-key'),
  },
  {
    pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})/g,
    replace: whole('github-token'),
  },
  { pattern: /\bxox[abprs]-[A-Za-z0-9-]{10,}/g, replace: whole('slack-token') },
  // OpenAI, Anthropic (sk-ant-…) and the many APIs that copied the format.
  { pattern: /\bsk-[A-Za-z0-9_-]{16,}/g, replace: whole('api-key') },
  {
    pattern: /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/g,
    replace: whole('jwt'),
  },
  { pattern: /\b(Bearer|Basic)([ \t]+)([A-Za-z0-9\-._~+/]+=*)/gi, replace: scheme },
  { pattern: ASSIGNMENT, replace: assignment },
  {
    // URLs are handled whole (credentials and random path segments) so the blob rule does not
    // eat readable paths; outside URLs, long random-looking base64 runs are redacted.
    pattern:
      /([A-Za-z][A-Za-z0-9+.-]*:\/\/[^\s<>"'`]+)|(?<![A-Za-z0-9+/_-])([A-Za-z0-9+/_-]{32,}={0,2})(?![A-Za-z0-9+/_=-])/g,
    replace: urlsAndBlobs,
  },
];

/** Replaces what looks like a credential with `[REDACTED:<label>]`. */
export function redactSecrets(text: string): RedactionResult {
  const counts = new Map<string, number>();
  let result = text;
  for (const rule of RULES) {
    result = result.replace(rule.pattern, rule.replace(counts));
  }
  return { text: result, redactions: Object.fromEntries(counts) };
}
