import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { TypeOrmModule } from '@nestjs/typeorm';
import { ApiKey, Org, WorkspaceToken } from '@molecule/database';
import { AuthGuard } from './auth.guard';
import { CredentialsService } from './credentials.service';

/**
 * Installs the global {@link AuthGuard}, and exports it for routes served outside Nest's pipeline
 * (they call `authorize()` with their own declaration). Needs the service's database connection.
 */
@Module({
  imports: [TypeOrmModule.forFeature([ApiKey, WorkspaceToken, Org])],
  providers: [CredentialsService, AuthGuard, { provide: APP_GUARD, useExisting: AuthGuard }],
  exports: [CredentialsService, AuthGuard],
})
export class AuthModule {}
