import { readFileSync } from 'node:fs';
import { z } from 'zod';
import catalog from './runtimes.json';

const SECRET_NAME = /^[A-Z][A-Z0-9_]{0,127}$/;

const runtimeSchema = z.object({
  id: z.string().regex(/^[a-z][a-z0-9-]{1,62}$/),
  name: z.string().min(1),
  description: z.string(),
  /** Secrets a workspace of this runtime cannot start without (checked before anything is queued). */
  requiredKeys: z.array(z.string().regex(SECRET_NAME)),
  /** Container image run on hosts without a pre-baked machine image. */
  image: z.string().min(1),
  /** Pre-baked machine image per region: with one, nothing is installed at boot. */
  amis: z.record(z.string(), z.string().regex(/^ami-[0-9a-f]{8,17}$/)),
  /** Install commands (argv lists) run at boot when the region has no AMI. */
  install: z.array(z.array(z.string().min(1)).min(1)),
  provisionTimeoutSeconds: z.number().int().min(5).max(3600),
});

export type Runtime = z.infer<typeof runtimeSchema>;

/** The committed runtime catalog, validated when first loaded. */
export class RuntimeCatalog {
  private readonly byId: Map<string, Runtime>;

  /** The committed catalog, or the one in `path` (RUNTIME_CATALOG) when given. */
  static load(path?: string): RuntimeCatalog {
    if (!path) return new RuntimeCatalog();
    const parsed = JSON.parse(readFileSync(path, 'utf8')) as { runtimes?: unknown };
    return new RuntimeCatalog(parsed.runtimes);
  }

  constructor(runtimes: unknown = catalog.runtimes) {
    const parsed = z.array(runtimeSchema).parse(runtimes);
    this.byId = new Map(parsed.map((runtime) => [runtime.id, runtime]));
    if (this.byId.size !== parsed.length) throw new Error('runtime ids must be unique');
  }

  list(): Runtime[] {
    return [...this.byId.values()];
  }

  get(id: string): Runtime | undefined {
    return this.byId.get(id);
  }

  /** Required keys of the runtime that `available` lacks. */
  missingKeys(runtime: Runtime, available: Iterable<string>): string[] {
    const have = new Set(available);
    return runtime.requiredKeys.filter((key) => !have.has(key));
  }
}

export { SECRET_NAME };
