import type { RouteEntry, RoutePublisher } from './route-publisher';

/** Thrown when the primary store took a write but a secondary one failed. */
export class RoutePublishError extends Error {
  override readonly name = 'RoutePublishError';

  constructor(
    message: string,
    /** The names of the publishers that failed, with their errors. */
    readonly failures: readonly { publisher: string; error: unknown }[],
  ) {
    super(message, { cause: failures[0]?.error });
  }
}

/**
 * Writes every route change to several stores. The primary is the Redis publisher when there is
 * one, because it is what the edge router reads and its writes are atomic; the others (Workers
 * KV) follow in the given order, and only once the primary accepted the change. A stale write
 * the primary refuses is not sent on, so a secondary never gets what the source of truth
 * rejected.
 *
 * If a secondary fails, the error is thrown after the remaining secondaries were tried. Retrying
 * the job is safe: the primary accepts the same generation again (equal generation updates in
 * place), so the retry reaches the secondary that failed.
 */
export class CompositeRoutePublisher implements RoutePublisher {
  readonly name: RoutePublisher['name'];
  private readonly primary: RoutePublisher;
  private readonly secondaries: readonly RoutePublisher[];

  constructor(publishers: readonly RoutePublisher[]) {
    const primary = publishers.find((p) => p.name === 'redis') ?? publishers[0];
    if (!primary) throw new Error('CompositeRoutePublisher needs at least one publisher');
    this.primary = primary;
    this.secondaries = publishers.filter((p) => p !== primary);
    this.name = primary.name;
  }

  /** True if the primary wrote. */
  async publish(entry: RouteEntry): Promise<boolean> {
    if (!(await this.primary.publish(entry))) return false;
    await this.forEachSecondary('publish', entry.slug, (p) => p.publish(entry));
    return true;
  }

  /** True if the primary holds no entry at or below `generation` afterwards. */
  async remove(slug: string, generation: number): Promise<boolean> {
    if (!(await this.primary.remove(slug, generation))) return false;
    await this.forEachSecondary('remove', slug, (p) => p.remove(slug, generation));
    return true;
  }

  async get(slug: string): Promise<RouteEntry | undefined> {
    return this.primary.get(slug);
  }

  private async forEachSecondary(
    action: string,
    slug: string,
    write: (publisher: RoutePublisher) => Promise<boolean>,
  ): Promise<void> {
    const failures: { publisher: string; error: unknown }[] = [];
    for (const publisher of this.secondaries) {
      try {
        // A secondary that refuses already holds a newer generation: nothing to repair there.
        await write(publisher);
      } catch (error) {
        failures.push({ publisher: publisher.name, error });
      }
    }
    if (failures.length > 0) {
      const detail = failures
        .map(
          (f) => `${f.publisher}: ${f.error instanceof Error ? f.error.message : String(f.error)}`,
        )
        .join('; ');
      throw new RoutePublishError(
        `Route ${action} of ${slug} reached ${this.primary.name} but failed on ${detail}`,
        failures,
      );
    }
  }
}
