import type { UpstreamErrorReason } from '../metrics/edge-metrics';
import type { EdgePage } from '../pages/edge-pages';
import { UpstreamCertificateError } from './upstream-pools';

export class PayloadTooLargeError extends Error {
  override readonly name = 'PayloadTooLargeError';
}

export class ResponseTooLargeError extends Error {
  override readonly name = 'ResponseTooLargeError';
}

export class ClientGoneError extends Error {
  override readonly name = 'ClientGoneError';
}

/** What a failed upstream exchange becomes for the visitor and in the metrics. */
export function classify(error: Error): {
  page: EdgePage;
  reason: UpstreamErrorReason | undefined;
} {
  if (error instanceof PayloadTooLargeError)
    return { page: 'payload_too_large', reason: undefined };
  if (error instanceof ClientGoneError) return { page: 'bad_gateway', reason: undefined };
  if (error instanceof UpstreamCertificateError) {
    return { page: 'bad_gateway', reason: 'certificate' };
  }
  if (error instanceof ResponseTooLargeError) {
    return { page: 'bad_gateway', reason: 'response_too_large' };
  }
  const code = (error as { code?: string }).code;
  switch (code) {
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
      return { page: 'gateway_timeout', reason: 'timeout' };
    case 'ECONNREFUSED':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return { page: 'bad_gateway', reason: 'connect' };
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return { page: 'bad_gateway', reason: 'reset' };
    case 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH':
      return { page: 'bad_request', reason: undefined };
    default:
      return { page: 'bad_gateway', reason: 'other' };
  }
}
