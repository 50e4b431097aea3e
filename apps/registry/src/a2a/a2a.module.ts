import { Module } from '@nestjs/common';
import { A2aModule as A2aRelayModule } from '@molecule/a2a';
import { A2aController } from './a2a.controller';

@Module({ imports: [A2aRelayModule], controllers: [A2aController] })
export class A2aModule {}
