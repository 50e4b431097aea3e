import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKey, Org, WorkspaceToken } from '@molecule/database';
import { AuthGuard } from './auth.guard';
import { CredentialsService } from './credentials.service';

/** Installs the global {@link AuthGuard}. Needs the service's database connection. */
@Module({
  imports: [TypeOrmModule.forFeature([ApiKey, WorkspaceToken, Org])],
  providers: [CredentialsService, { provide: APP_GUARD, useClass: AuthGuard }],
  exports: [CredentialsService],
})
export class AuthModule {}
