import { Init1795884263828 } from './1795884263828-init';

/** Every committed migration, oldest first. */
export const MIGRATIONS = [Init1795884263828];
