require('/work/main/scripts/paths.cjs').registerBuild('/work/main/dist');
const http = require('http');
const { Registry } = require('prom-client');
const d = '/work/main/dist/apps/edge-router/src/';
const { resolveEdgeRouterOptions } = require(d + 'edge-router.options.js');
const { EdgeMetrics } = require(d + 'metrics/edge-metrics.js');
const { EdgePages } = require(d + 'pages/edge-pages.js');
const { EdgeProxy } = require(d + 'proxy/edge-proxy.js');
const { UpstreamPools } = require(d + 'proxy/upstream-pools.js');
const { RouteResolver } = require(d + 'routing/route-resolver.js');
const { tenantHostParser } = require(d + 'routing/tenant-host.parser.js');
const { VisitorAuthenticator } = require(d + 'visitor-auth/visitor-authenticator.js');
const up = Number(process.argv[2]);
const options = resolveEdgeRouterOptions();
const metrics = new EdgeMetrics(new Registry());
const pools = new UpstreamPools(options.upstream);
const routes = new RouteResolver(
  {
    source: {
      get: async (slug) => ({
        slug,
        orgId: 'o',
        status: 'running',
        address: '127.0.0.1',
        port: up,
        protocol: 'http',
        generation: 1,
        credential: 'c',
        updatedAt: 'x',
      }),
    },
    decryptCredential: async () => 'tok',
    pools,
    metrics,
  },
  options.routeCache,
);
const visitors = new VisitorAuthenticator(
  async () => ({ kind: 'org-key', orgId: 'o', role: 'viewer', keyId: 'k' }),
  options.visitorAuth,
  metrics,
);
const proxy = new EdgeProxy({
  parseHost: tenantHostParser('apps.test'),
  routes,
  visitors,
  pools,
  pages: new EdgePages(5),
  metrics,
  options,
  warn: () => {},
});
http
  .createServer((req, res) => {
    if (!proxy.handleRequest(req, res)) {
      res.end('nope');
    }
  })
  .listen(Number(process.argv[3]), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
