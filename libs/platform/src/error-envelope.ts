import { HttpException, HttpStatus } from '@nestjs/common';
import { randomUUID } from 'node:crypto';

/** The one shape every error response has, whatever failed. */
export interface ErrorEnvelope {
  error: {
    status: number;
    code: string;
    message: string;
    details?: unknown;
    requestId?: string;
    /** Only on 500s: quote it to ops; the log line with the stack carries the same id. */
    errorId?: string;
  };
}

const CODES: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthorized',
  402: 'payment_required',
  403: 'forbidden',
  404: 'not_found',
  405: 'method_not_allowed',
  406: 'not_acceptable',
  408: 'request_timeout',
  409: 'conflict',
  410: 'gone',
  413: 'payload_too_large',
  415: 'unsupported_media_type',
  422: 'unprocessable_entity',
  429: 'too_many_requests',
  502: 'bad_gateway',
  503: 'service_unavailable',
  504: 'gateway_timeout',
};

/**
 * Errors that carry a 4xx `statusCode` without being Nest exceptions: the HTTP framework's own
 * (bad JSON, body too large; their `code` is `FST_…`) and libraries' refusals, which may add a
 * lower_snake `code` and `details` for the envelope (e.g. `MemoryContentError`).
 */
interface FrameworkError {
  statusCode?: number;
  code?: string;
  message?: string;
  details?: unknown;
}

const CLIENT_CODE = /^[a-z][a-z0-9_]*$/;

export interface ResolvedError {
  body: ErrorEnvelope;
  /** Set for unexpected errors, which the caller must log with their stack. */
  unexpected?: unknown;
}

export function resolveError(error: unknown, requestId?: string): ResolvedError {
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const response = error.getResponse();
    const fields =
      typeof response === 'string' ? { message: response } : (response as Record<string, unknown>);
    // A thrown 500 is a bug whatever its type; other HttpExceptions (a 503 from a failed
    // readiness check, say) are deliberate answers and keep their details.
    if (status === 500) return unexpected(error, requestId);
    // A response object without a message (terminus' health report) is itself the detail.
    const details = fields.details ?? (fields.message === undefined ? fields : undefined);
    return {
      body: {
        error: {
          status,
          code: typeof fields.code === 'string' ? fields.code : (CODES[status] ?? 'error'),
          message: messageOf(fields.message, error.message),
          ...(details !== undefined ? { details } : {}),
          requestId,
        },
      },
    };
  }
  const framework = error as FrameworkError;
  if (
    typeof framework?.statusCode === 'number' &&
    framework.statusCode >= 400 &&
    framework.statusCode < 500
  ) {
    const status = framework.statusCode;
    const code =
      typeof framework.code === 'string' && CLIENT_CODE.test(framework.code)
        ? framework.code
        : (CODES[status] ?? 'bad_request');
    return {
      body: {
        error: {
          status,
          code,
          message: framework.message ?? 'Bad request',
          ...(framework.details !== undefined ? { details: framework.details } : {}),
          requestId,
        },
      },
    };
  }
  return unexpected(error, requestId);
}

function unexpected(error: unknown, requestId: string | undefined): ResolvedError {
  return {
    body: {
      error: {
        status: HttpStatus.INTERNAL_SERVER_ERROR,
        code: 'internal_error',
        message: 'Internal server error',
        requestId,
        errorId: randomUUID(),
      },
    },
    unexpected: error,
  };
}

function messageOf(value: unknown, fallback: string): string {
  if (typeof value === 'string') return value;
  if (Array.isArray(value)) return value.map(String).join('; ');
  return fallback;
}
