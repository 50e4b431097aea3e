import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import {
  CONFIG_FILE_MODE,
  CONFIG_FILE_NAME,
  ENV_FILE_MODE,
  ENV_FILE_NAME,
  renderConfigFile,
  renderEnvFile,
  validateBootSpec,
} from './boot-files';
import type { BootSpec } from './boot-spec';

/** What the local compute driver writes and spawns for one instance. */
export interface LocalProcessSpec {
  files: { path: string; mode: number; content: string }[];
  command: string;
  args: string[];
  /** The variables the boot contract sets; the driver adds what it needs (PATH, ...) on top. */
  env: Record<string, string>;
  cwd: string;
}

const INSTANCE_DIR_MODE = 0o700;

/**
 * The local twin of `renderCloudConfig`: the same config and env files, in `instanceDir` instead
 * of `/etc/molecule`, and the same variables the container gets. The secrets are also in `env`,
 * because a local process receives them from its parent rather than from docker's env file.
 */
export function renderLocalProcess(
  spec: BootSpec,
  instanceDir: string,
  agent: { command: string; args: string[] },
): LocalProcessSpec {
  validateBootSpec(spec);
  const dir = resolve(instanceDir);
  const configPath = join(dir, CONFIG_FILE_NAME);
  const envPath = join(dir, ENV_FILE_NAME);
  return {
    files: [
      { path: configPath, mode: CONFIG_FILE_MODE, content: renderConfigFile(spec) },
      { path: envPath, mode: ENV_FILE_MODE, content: renderEnvFile(spec) },
    ],
    command: agent.command,
    args: [...agent.args],
    env: {
      ...spec.secrets,
      MOLECULE_ROLE: spec.role,
      MOLECULE_CONFIG: configPath,
      MOLECULE_ENV_FILE: envPath,
      PORT: String(spec.port),
      // A local host is reached only through the edge router on this machine; never bind wider.
      HOST: '127.0.0.1',
    },
    cwd: dir,
  };
}

/**
 * Writes the files with exactly their modes, whatever the umask. Each file is written to a
 * temporary name created 0600, chmod-ed, then renamed into place, so a secret is never readable
 * by others, not even for a moment, and a rewrite never leaves a half-written file.
 */
export async function writeLocalFiles(spec: LocalProcessSpec): Promise<void> {
  // The instance directory holds the secrets file; only its owner may list or enter it.
  await mkdir(spec.cwd, { recursive: true, mode: INSTANCE_DIR_MODE });
  await chmod(spec.cwd, INSTANCE_DIR_MODE);
  for (const file of spec.files) {
    await mkdir(dirname(file.path), { recursive: true, mode: INSTANCE_DIR_MODE });
    const temporary = `${file.path}.${randomBytes(6).toString('hex')}.tmp`;
    try {
      await writeFile(temporary, file.content, { mode: 0o600, flag: 'wx' });
      await chmod(temporary, file.mode);
      await rename(temporary, file.path);
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }
}
