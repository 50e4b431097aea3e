import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsOptional, IsString, IsUUID, Length } from 'class-validator';

export class PutSecretDto {
  @ApiProperty({ description: 'The value; stored encrypted and never returned' })
  @IsString()
  @Length(1, 65_536)
  value: string;

  @ApiPropertyOptional({ description: 'Scope the secret to one workspace instead of the org' })
  @IsOptional()
  @IsUUID()
  workspaceId?: string;
}

export class SecretScopeQuery {
  @ApiPropertyOptional()
  @IsOptional()
  @IsUUID()
  workspaceId?: string;
}
