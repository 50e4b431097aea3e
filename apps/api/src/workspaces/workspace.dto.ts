import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsIn, IsObject, IsOptional, IsString, IsUUID, Length, Matches } from 'class-validator';

export const TIERS = ['standard', 'large'] as const;

export class CreateWorkspaceDto {
  @ApiProperty({ example: 'researcher' })
  @IsString()
  @Length(1, 100)
  @Matches(/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, {
    message: 'name may contain letters, digits, spaces, . _ -',
  })
  name: string;

  @ApiProperty({ example: 'reference', description: 'A runtime id from GET /v1/runtimes' })
  @IsString()
  @Length(1, 100)
  runtime: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Length(1, 100)
  template?: string;

  @ApiPropertyOptional({ enum: TIERS })
  @IsOptional()
  @IsIn(TIERS)
  tier?: (typeof TIERS)[number];

  @ApiPropertyOptional({ description: 'The parent workspace in the agent hierarchy' })
  @IsOptional()
  @IsUUID()
  parentId?: string;

  @ApiPropertyOptional({
    description: 'Secrets for this workspace only, by name; stored encrypted, never returned',
    example: { ANTHROPIC_API_KEY: 'sk-…' },
  })
  @IsOptional()
  @IsObject()
  secrets?: Record<string, string>;
}
