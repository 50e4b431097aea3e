import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import {
  IsBoolean,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  IsUUID,
  Length,
  Matches,
  Max,
  Min,
  ValidateIf,
} from 'class-validator';

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

/** Only an org admin changes the hierarchy or a budget; both are audited. */
export class UpdateWorkspaceDto {
  @ApiPropertyOptional({
    nullable: true,
    description: 'The new parent in the agent hierarchy; null makes it a top-level workspace',
  })
  @ValidateIf((_dto, value) => value !== undefined && value !== null)
  @IsUUID()
  parentId?: string | null;

  @ApiPropertyOptional({
    nullable: true,
    description: 'Spend allowance in cents; null removes the limit. Over it, A2A calls get 402.',
  })
  @ValidateIf((_dto, value) => value !== undefined && value !== null)
  @IsInt()
  @Min(0)
  @Max(Number.MAX_SAFE_INTEGER)
  budgetCents?: number | null;
}

export class SendMessageDto {
  @ApiProperty({ example: 'Summarise the open incidents', description: 'The text to send' })
  @IsString()
  @Length(1, 100_000)
  text: string;

  @ApiPropertyOptional({ description: 'Continue this A2A conversation (context id)' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  contextId?: string;

  @ApiPropertyOptional({ description: 'Continue this A2A task (task id)' })
  @IsOptional()
  @IsString()
  @Length(1, 200)
  taskId?: string;

  @ApiPropertyOptional({
    description: 'Stream the reply as server-sent events instead of waiting for it',
    default: false,
  })
  @IsOptional()
  @IsBoolean()
  stream?: boolean;
}
