import { runService } from '@molecule/platform';
import { edgeRouterService } from './edge-router.service-definition';

void runService(edgeRouterService);
