import { runService } from '@molecule/platform';
import { apiService } from './api.service-definition';

void runService(apiService);
