import { AgentSettingsError, loadConfig, readTenantSettings, resolveRole } from './agent-settings';
import type { AgentEnv } from './agent-settings';
import { closeOnSignals, listen, logError, logLine } from './server-lifecycle';
import { createTenantHost } from './tenant-host';
import { readWorkspaceSettings } from './workspace-settings';
import type { WorkspaceSettings } from './workspace-settings';
import { WorkspaceRuntime, reportConfigFailure } from './workspace-runtime';

/**
 * The reference host runtime, booted from the files and variables libs/boot renders (in a
 * container on EC2, as a child process locally). It imports only node built-ins and
 * `@a2a-js/sdk`: it runs as a plain `node` process, without the control plane's libraries or Nest.
 */
async function main(env: AgentEnv): Promise<void> {
  const loaded = loadConfig(env);
  const role = resolveRole(env, loaded);
  switch (role) {
    case 'tenant': {
      const settings = readTenantSettings(env, loaded);
      const server = createTenantHost(settings);
      const address = await listen(server, settings.host, settings.port);
      closeOnSignals(server, () => process.exit(0));
      logLine('listening', {
        role,
        org: settings.orgSlug,
        host: address.address,
        port: address.port,
      });
      return;
    }
    case 'workspace': {
      let settings: WorkspaceSettings;
      try {
        settings = readWorkspaceSettings(env, loaded);
      } catch (error) {
        if (!(error instanceof AgentSettingsError)) throw error;
        // Stage `config`: tell the registry too, if it can be reached, then exit as below.
        const reported = await reportConfigFailure(env, loaded, error.message);
        logError('workspace agent failed', { stage: 'config', error: error.message, reported });
        process.exit(1);
      }
      process.exit(await new WorkspaceRuntime(settings).run());
    }
  }
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
