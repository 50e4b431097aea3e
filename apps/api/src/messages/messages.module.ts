import { Module } from '@nestjs/common';
import { A2aModule } from '@molecule/a2a';
import { OrgsModule } from '../orgs/orgs.module';
import { A2aCallsController } from './a2a-calls.controller';
import { MessagesController } from './messages.controller';

@Module({ imports: [A2aModule, OrgsModule], controllers: [MessagesController, A2aCallsController] })
export class MessagesModule {}
