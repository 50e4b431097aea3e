import { ConfigError, loadConfig } from '@molecule/config';
import { MasterKeyring, rotateMasterKey } from '@molecule/crypto';
import { createDataSource } from '../data-source';
import { PostgresDataKeyStore } from '../data-key.store';

/**
 * Re-wraps every org data key under the current MASTER_KEY. Run it after every service has been
 * deployed with the new MASTER_KEY and the old one in MASTER_KEYS_PREVIOUS. Safe to repeat.
 */
async function main(): Promise<void> {
  const config = loadConfig('key-rotator');
  const keyring = new MasterKeyring({
    current: config.masterKeys.current.reveal(),
    previous: config.masterKeys.previous.map((key) => key.reveal()),
  });
  const dataSource = createDataSource({ url: config.databaseUrl.reveal(), poolSize: 2 });
  await dataSource.initialize();
  try {
    const result = await rotateMasterKey(new PostgresDataKeyStore(dataSource), keyring);
    console.log(
      `Master key ${keyring.currentId}: re-wrapped ${result.rewrapped} data keys, ${result.alreadyCurrent} already current.`,
    );
  } finally {
    await dataSource.destroy();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof ConfigError ? error.message : `Rotation failed: ${String(error)}`);
  process.exit(1);
});
