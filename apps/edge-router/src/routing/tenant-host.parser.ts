// The same rule as the route table's: a slug is one lower-case DNS label.
const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Not under a tenant domain: the router's own host (IP, bare domain), served by Nest. */
export const NOT_TENANT = undefined;
/** Under a tenant domain but not a possible slug (nested labels, bad characters): a 404 page. */
export const INVALID_TENANT = '';
/** Under a tenant domain with a port that is no port (`acme.localhost:x`): a 400 page. */
export const MALFORMED_HOST = ':';

const PORT = /^[0-9]{0,5}$/;

/**
 * Reads the slug out of a `Host` header: `<slug>.<BASE_DOMAIN>` and, for development,
 * `<slug>.localhost`. Returns the slug, `INVALID_TENANT`, `MALFORMED_HOST` or `NOT_TENANT`. Built
 * once per base domain because it runs on every request.
 */
export function tenantHostParser(
  baseDomain: string,
): (host: string | undefined) => string | undefined {
  const suffixes = [...new Set([`.${baseDomain.toLowerCase()}`, '.localhost'])];
  return (host) => {
    if (host === undefined || host === '') return NOT_TENANT;
    let name = host;
    // An IPv6 literal ("[::1]:8080") is never a tenant host; only strip ":port" after the name.
    if (name.charCodeAt(0) === 0x5b /* [ */) return NOT_TENANT;
    const colon = name.lastIndexOf(':');
    const badPort = colon !== -1 && !PORT.test(name.slice(colon + 1));
    if (colon !== -1) name = name.slice(0, colon);
    name = name.toLowerCase();
    if (name.endsWith('.')) name = name.slice(0, -1);
    for (const suffix of suffixes) {
      if (name.length > suffix.length && name.endsWith(suffix)) {
        // RFC 9110 §7.2: port = *DIGIT; a Host that is not a host[:port] is a bad request.
        if (badPort) return MALFORMED_HOST;
        const slug = name.slice(0, name.length - suffix.length);
        return SLUG.test(slug) ? slug : INVALID_TENANT;
      }
    }
    return NOT_TENANT;
  };
}
