import type { LaunchRequest } from './compute-driver';

/**
 * Checks what every driver relies on for idempotency before it touches anything. A launch whose
 * `molecule:operation` tag differed from its operation id would be invisible to
 * `findByOperation`, so a retry would start a second host: refuse it as a caller bug instead.
 */
export function assertLaunchRequest(request: LaunchRequest): void {
  if (typeof request.operationId !== 'string' || request.operationId.length === 0) {
    throw new Error('launch request: operationId is required');
  }
  if (request.tags['molecule:operation'] !== request.operationId) {
    throw new Error('launch request: the molecule:operation tag must equal the operationId');
  }
  if (request.tags['molecule:managed'] !== 'true') {
    throw new Error('launch request: the molecule:managed tag must be "true"');
  }
}
