import type { Server } from 'node:http';
import { AgentSettingsError, loadConfig, readTenantSettings, resolveRole } from './agent-settings';
import type { AgentEnv } from './agent-settings';
import { closeOnSignals, listen, logLine } from './server-lifecycle';
import { createTenantHost } from './tenant-host';

/**
 * The reference host runtime, booted from the files and variables libs/boot renders (in a
 * container on EC2, as a child process locally). It imports only node built-ins: it runs as a
 * plain `node` process, without the control plane's libraries or Nest.
 */
async function main(env: AgentEnv): Promise<void> {
  const loaded = loadConfig(env);
  const role = resolveRole(env, loaded);
  let server: Server;
  let fields: Record<string, unknown>;
  switch (role) {
    case 'tenant': {
      const settings = readTenantSettings(env, loaded);
      server = createTenantHost(settings);
      const address = await listen(server, settings.host, settings.port);
      fields = { role, org: settings.orgSlug, host: address.address, port: address.port };
      break;
    }
    case 'workspace':
      throw new AgentSettingsError('MOLECULE_ROLE "workspace" is not implemented yet');
  }
  closeOnSignals(server, () => process.exit(0));
  logLine('listening', fields);
}

// The one place that reads the environment: this runtime has no @molecule/config to do it.
// eslint-disable-next-line no-restricted-properties
main(process.env).catch((error: unknown) => {
  // Settings errors name the variable, never its value. Anything else (a port in use, say) is
  // reported by name and message: enough to act on, and one line in the host's log.
  const message =
    error instanceof AgentSettingsError
      ? error.message
      : `${(error as Error).name}: ${(error as Error).message}`;
  process.stderr.write(`workspace-agent: ${message}\n`);
  process.exit(1);
});
