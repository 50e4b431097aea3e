import { Injectable } from '@nestjs/common';
import { InjectDataSource } from '@nestjs/typeorm';
import {
  Operation,
  OperationsRepository,
  OperationStatus,
  type Org,
  type OperationStep,
} from '@molecule/database';
import { OrgEventFeed } from '@molecule/events';
import { JobName, ORG_PROVISION_STEPS } from '@molecule/jobs';
import {
  catchError,
  concat,
  defer,
  EMPTY,
  filter,
  interval,
  merge,
  Observable,
  share,
  switchMap,
  takeWhile,
} from 'rxjs';
import type { DataSource } from 'typeorm';

export interface StepView {
  name: string;
  state: 'pending' | 'running' | 'done' | 'failed';
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
}

export interface ProgressView {
  org: { slug: string; status: string };
  operationId: string | null;
  status: OperationStatus | 'none';
  steps: StepView[];
  percent: number;
  /** Seconds until done, from recent durations of the same steps; null when unknown. */
  etaSeconds: number | null;
  error: string | null;
}

/** How many recent successful runs the ETA learns from. */
const HISTORY = 20;

/**
 * Provisioning progress: step timings, percent, and an ETA computed from how long the same
 * steps took recently. Streams update on the operation's events in the org's live event feed
 * (the provisioner publishes them as each step starts and ends), with a slow poll as a safety
 * net for a missed one.
 */
@Injectable()
export class ProvisioningService {
  private readonly operations: OperationsRepository;

  constructor(
    @InjectDataSource() private readonly dataSource: DataSource,
    private readonly feed: OrgEventFeed,
  ) {
    this.operations = new OperationsRepository(dataSource);
  }

  async progress(org: Org): Promise<ProgressView> {
    const operation = await this.operations.latest(org.id, JobName.OrgProvision);
    const typical = await this.typicalDurations();
    return render(org, operation, typical);
  }

  /** Snapshots until the operation finishes (then one last snapshot and completion). */
  stream(org: Org): Observable<ProgressView> {
    const snapshot = () => defer(() => this.progress(org));
    return defer(() => this.operations.latest(org.id, JobName.OrgProvision)).pipe(
      switchMap((operation) => {
        // Once the feed is live (`ready`), one more snapshot covers what changed before; then one
        // per event of this operation. Without Redis the poll still runs.
        const changes = this.feed.follow(org.id).pipe(
          filter(
            (item) =>
              item.kind === 'ready' ||
              (item.kind === 'event' &&
                item.record.event.type.startsWith('provisioning.') &&
                item.record.event.data.operationId === operation?.id),
          ),
          catchError(() => EMPTY),
        );
        return concat(
          snapshot(),
          merge(changes, interval(2_000)).pipe(switchMap(() => snapshot())),
        );
      }),
      takeWhile(
        (view) => view.status === 'queued' || view.status === 'running' || view.status === 'none',
        true,
      ),
      share(),
    );
  }

  /** Median duration of each step over the last successful provisionings. */
  private async typicalDurations(): Promise<Map<string, number>> {
    const recent = await this.dataSource.getRepository(Operation).find({
      select: { steps: true },
      where: { kind: JobName.OrgProvision, status: OperationStatus.Succeeded },
      order: { finishedAt: 'DESC' },
      take: HISTORY,
    });
    const samples = new Map<string, number[]>();
    for (const step of recent.flatMap((op) => op.steps)) {
      const duration = durationOf(step);
      if (duration !== null) samples.set(step.name, [...(samples.get(step.name) ?? []), duration]);
    }
    return new Map([...samples].map(([name, values]) => [name, median(values)]));
  }
}

export function render(
  org: Org,
  operation: Operation | null,
  typical: Map<string, number>,
): ProgressView {
  const recorded = new Map((operation?.steps ?? []).map((s) => [s.name, s]));
  const steps: StepView[] = ORG_PROVISION_STEPS.map((name) => {
    const step = recorded.get(name);
    const state: StepView['state'] = !step
      ? 'pending'
      : step.error
        ? 'failed'
        : step.endedAt
          ? 'done'
          : 'running';
    return {
      name,
      state,
      startedAt: step?.startedAt ?? null,
      endedAt: step?.endedAt ?? null,
      durationMs: step ? durationOf(step) : null,
    };
  });
  const finished = operation?.status === OperationStatus.Succeeded;
  const done = finished ? steps.length : steps.filter((s) => s.state === 'done').length;
  let eta: number | null = finished ? 0 : null;
  if (!finished && operation && operation.status !== OperationStatus.Failed) {
    const remaining = steps.filter((s) => s.state !== 'done');
    if (remaining.every((s) => typical.has(s.name))) {
      const now = Date.now();
      eta =
        remaining.reduce((sum, s) => {
          const expected = typical.get(s.name)!;
          const elapsed = s.state === 'running' && s.startedAt ? now - Date.parse(s.startedAt) : 0;
          return sum + Math.max(0, expected - elapsed);
        }, 0) / 1000;
    }
  }
  return {
    org: { slug: org.slug, status: org.status },
    operationId: operation?.id ?? null,
    status: operation?.status ?? 'none',
    steps,
    percent: Math.round((done / steps.length) * 100),
    etaSeconds: eta === null ? null : Math.round(eta * 10) / 10,
    error: operation?.status === OperationStatus.Failed ? operation.error : null,
  };
}

function durationOf(step: OperationStep): number | null {
  return step.endedAt && !step.error ? Date.parse(step.endedAt) - Date.parse(step.startedAt) : null;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
