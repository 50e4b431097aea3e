import type { ComputeDriver } from './compute-driver';

/**
 * Terminates instances and waits until each is gone or reports `terminated` (EC2 passes
 * through `shutting-down` first). Idempotent, like the driver calls it makes.
 */
export async function terminateAndWait(
  driver: ComputeDriver,
  instanceIds: readonly string[],
  { timeoutMs = 120_000, pollMs = 250 } = {},
): Promise<void> {
  await Promise.all(instanceIds.map((id) => driver.terminate(id)));
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const states = await Promise.all(instanceIds.map((id) => driver.describe(id)));
    if (states.every((s) => !s || s.state === 'terminated')) return;
    if (Date.now() > deadline) throw new Error('instances did not terminate in time');
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
}
