/**
 * The boot contract (SPEC §6): one description of what a host runs, rendered either to EC2
 * cloud-init user-data or to a local process. Secrets only ever travel in `secrets`, which both
 * renderers write to a root-only (0600) env file and never to config, logs or console output.
 */
export interface BootSpec {
  /** A tenant host (serves one org) or a workspace (one agent runtime). */
  role: 'tenant' | 'workspace';
  /** The launch this spec belongs to (the operation id); names files and units. */
  launchId: string;
  /** Non-secret settings, written as `/etc/molecule/config.yaml` (locally `<dir>/config.yaml`). */
  config: Record<string, string | number | boolean | null>;
  /** Secret settings, written to the 0600 env file and given to the runtime as environment. */
  secrets: Record<string, string>;
  /** The HTTP port the host serves; its health check answers at `healthPath`. */
  port: number;
  healthPath: string;
  /** EC2: the container image the systemd unit runs. Unused by the local driver. */
  image: string;
  /**
   * EC2: the machine image already has Docker and the runtime (a pre-baked AMI), so nothing is
   * installed at boot. Otherwise Docker is installed and `install` runs before the service.
   */
  prebaked?: boolean;
  /** EC2: install steps (argv lists, no shell) for hosts without a pre-baked image. */
  install?: string[][];
}
