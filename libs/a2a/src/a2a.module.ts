import { Module } from '@nestjs/common';
import { A2aGateway } from './a2a-gateway.service';

/** The A2A relay for the registry's proxy and the API's messages route. */
@Module({ providers: [A2aGateway], exports: [A2aGateway] })
export class A2aModule {}
