import { Init1795884263828 } from './1795884263828-init';
import { OrgsAndIdempotency1795885622419 } from './1795885622419-orgs-and-idempotency';

/** Every committed migration, oldest first. */
export const MIGRATIONS = [Init1795884263828, OrgsAndIdempotency1795885622419];
