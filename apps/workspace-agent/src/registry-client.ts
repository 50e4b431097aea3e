/**
 * The workspace side of the registry contract (HTTP JSON under `registryUrl`):
 * `POST /registry/register`, `/registry/heartbeat`, `/registry/boot-report`. Tokens travel only in
 * the Authorization header; no error raised here ever contains one.
 */

export interface RegisterRequest {
  workspaceId: string;
  agentCard: unknown;
  endpoint: string;
  version: string;
}

export interface RegisterReply {
  workspaceId: string;
  /** Only when a bootstrap token was exchanged; shown once. */
  sessionToken?: string;
  /** Absent or unusable: the runtime keeps its configured interval. */
  heartbeatIntervalSeconds?: number;
}

export interface HeartbeatRequest {
  status: 'ok' | 'degraded';
  activeTasks: number;
  errorRate: number;
  usage: { tasksTotal: number; cpuSeconds?: number; rssBytes?: number };
}

export interface HeartbeatReply {
  /** Absent or unusable: the runtime keeps the interval it had. */
  nextIntervalSeconds?: number;
}

export interface BootReport {
  stage: string;
  error: string;
}

/** The registry answered with a status other than the expected one. */
export class RegistryHttpError extends Error {
  override readonly name = 'RegistryHttpError';
  constructor(
    readonly path: string,
    readonly status: number,
    /** The `error.code` of the registry's envelope, when it sent one. */
    readonly code: string | undefined,
  ) {
    super(`${path} answered ${status}${code === undefined ? '' : ` (${code})`}`);
  }

  /** Worth retrying: the registry is there but cannot serve right now. */
  get transient(): boolean {
    return this.status >= 500 || this.status === 429 || this.status === 408;
  }
}

/** No answer: refused, reset, DNS, timeout. Always worth retrying. */
export class RegistryUnreachableError extends Error {
  override readonly name = 'RegistryUnreachableError';
}

/** The registry answered 2xx with a body that breaks the contract. */
export class RegistryProtocolError extends Error {
  override readonly name = 'RegistryProtocolError';
}

export function isTransient(error: unknown): boolean {
  return (
    error instanceof RegistryUnreachableError ||
    (error instanceof RegistryHttpError && error.transient)
  );
}

const SESSION_TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;
// Boot reports are read by people through the API; the contract bounds both fields.
const MAX_STAGE_LENGTH = 64;
const MAX_ERROR_LENGTH = 2000;

export class RegistryClient {
  constructor(private readonly baseUrl: string) {}

  async register(
    token: string,
    body: RegisterRequest,
    signal: AbortSignal,
  ): Promise<RegisterReply> {
    const reply = await this.post('/registry/register', token, body, 200, signal);
    if (!isObject(reply)) throw new RegistryProtocolError('register: the reply is not an object');
    const { workspaceId, sessionToken, heartbeatIntervalSeconds } = reply;
    if (workspaceId !== undefined && workspaceId !== body.workspaceId) {
      throw new RegistryProtocolError('register: the reply names another workspace');
    }
    if (
      sessionToken !== undefined &&
      sessionToken !== null &&
      (typeof sessionToken !== 'string' || !SESSION_TOKEN.test(sessionToken))
    ) {
      throw new RegistryProtocolError('register: the session token is not a bearer token');
    }
    // Lenient on the interval: a registry that omits it must not stop a workspace from booting.
    return {
      workspaceId: body.workspaceId,
      ...(typeof sessionToken === 'string' ? { sessionToken } : {}),
      ...(isPositiveNumber(heartbeatIntervalSeconds) ? { heartbeatIntervalSeconds } : {}),
    };
  }

  async heartbeat(
    token: string,
    body: HeartbeatRequest,
    signal: AbortSignal,
  ): Promise<HeartbeatReply> {
    const reply = await this.post('/registry/heartbeat', token, body, 200, signal);
    // The beat arrived, which is what matters; a missing interval only means "keep yours".
    return isObject(reply) && isPositiveNumber(reply.nextIntervalSeconds)
      ? { nextIntervalSeconds: reply.nextIntervalSeconds }
      : {};
  }

  async bootReport(token: string, report: BootReport, signal: AbortSignal): Promise<void> {
    const body = {
      stage: report.stage.slice(0, MAX_STAGE_LENGTH),
      error: report.error.slice(0, MAX_ERROR_LENGTH),
    };
    await this.post('/registry/boot-report', token, body, 204, signal);
  }

  private async post(
    path: string,
    token: string,
    body: unknown,
    expected: number,
    signal: AbortSignal,
  ): Promise<unknown> {
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          accept: 'application/json',
        },
        body: JSON.stringify(body),
        signal,
        // A redirect would carry the Authorization header to wherever it points.
        redirect: 'error',
      });
    } catch (error) {
      // Shutting down is not an outage: let the caller see the abort as it is.
      if (signal.aborted && signal.reason instanceof Error && signal.reason.name === 'AbortError') {
        throw signal.reason;
      }
      throw new RegistryUnreachableError(`${path}: ${describeFetchError(error, signal)}`);
    }
    const text = await response.text().catch(() => '');
    if (response.status !== expected) {
      // 200 for 204 (or the reverse) would still be a success in spirit; accept any 2xx.
      if (response.status >= 200 && response.status < 300) return parseJson(text);
      throw new RegistryHttpError(path, response.status, errorCode(text));
    }
    return parseJson(text);
  }
}

/** Why fetch failed, from its `cause` (undici puts the errno code there); never a header. */
export function describeFetchError(error: unknown, signal?: AbortSignal): string {
  if (signal?.aborted) {
    const reason: unknown = signal.reason;
    if (reason instanceof Error && reason.name === 'TimeoutError') return 'no answer in time';
  }
  const cause = (error as { cause?: unknown }).cause;
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  if (typeof code === 'string') return code;
  if (error instanceof Error && error.name === 'TimeoutError') return 'no answer in time';
  return error instanceof Error ? error.message : 'request failed';
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new RegistryProtocolError('the reply is not JSON');
  }
}

function errorCode(text: string): string | undefined {
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown } };
    const code = body?.error?.code;
    // Only a short identifier is kept: the code lands in logs and boot reports.
    return typeof code === 'string' && /^[A-Za-z0-9_.-]{1,64}$/.test(code) ? code : undefined;
  } catch {
    return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isPositiveNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0;
}
