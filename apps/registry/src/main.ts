import { runService } from '@molecule/platform';
import { registryService } from './registry.service-definition';

void runService(registryService);
