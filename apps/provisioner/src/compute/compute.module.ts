import { Module } from '@nestjs/common';
import { APP_CONFIG, type AppConfig } from '@molecule/config';
import {
  COMPUTE_DRIVER,
  createEc2Client,
  Ec2ComputeDriver,
  LocalComputeDriver,
  type ComputeDriver,
} from '@molecule/compute';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * How the local driver starts the reference runtime: the compiled agent next to this compiled
 * app, or (in tests, running from TypeScript sources) the source through ts-node.
 */
export function localAgentCommand(): { command: string; args: string[] } {
  const apps = resolve(__dirname, '..', '..', '..');
  const compiled = join(apps, 'workspace-agent', 'src', 'main.js');
  if (existsSync(compiled)) return { command: process.execPath, args: [compiled] };
  // The driver gives hosts a minimal environment, so the ts-node settings travel in the script.
  const bootstrap = [
    `process.env.TS_NODE_PROJECT = ${JSON.stringify(join(apps, '..', 'tsconfig.json'))};`,
    `require(${JSON.stringify(require.resolve('ts-node/register/transpile-only'))});`,
    `require(${JSON.stringify(join(apps, 'workspace-agent', 'src', 'main.ts'))});`,
  ].join(' ');
  return { command: process.execPath, args: ['-e', bootstrap] };
}

export function createComputeDriver(config: AppConfig): ComputeDriver {
  switch (config.computeDriver) {
    case 'local':
      return new LocalComputeDriver({
        instancesDir: resolve(config.local.instancesDir),
        agent: config.local.agentCommand
          ? { command: config.local.agentCommand[0], args: config.local.agentCommand.slice(1) }
          : localAgentCommand(),
      });
    case 'ec2': {
      if (!config.ec2) throw new Error('COMPUTE_DRIVER=ec2 needs the EC2_* settings');
      return new Ec2ComputeDriver(createEc2Client(config.ec2.region), config.ec2);
    }
  }
}

@Module({
  providers: [{ provide: COMPUTE_DRIVER, inject: [APP_CONFIG], useFactory: createComputeDriver }],
  exports: [COMPUTE_DRIVER],
})
export class ComputeModule {}
