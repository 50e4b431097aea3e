import { runService } from '@molecule/platform';
import { provisionerService } from './provisioner.service-definition';

void runService(provisionerService);
