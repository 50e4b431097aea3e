import { Init1795884263828 } from './1795884263828-init';
import { OrgsAndIdempotency1795885622419 } from './1795885622419-orgs-and-idempotency';
import { A2aCalls1795894530663 } from './1795894530663-a2a-calls';
import { MemoryDecisions1795894726628 } from './1795894726628-memory-decisions';

/** Every committed migration, oldest first. */
export const MIGRATIONS = [
  Init1795884263828,
  OrgsAndIdempotency1795885622419,
  A2aCalls1795894530663,
  MemoryDecisions1795894726628,
];
