import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ApprovalState, MemoryScope, enumValues } from '@molecule/database';
import { NAMESPACE_MESSAGE, NAMESPACE_PATTERN } from '@molecule/memory';
import { PageQuery } from '@molecule/platform';
import { IsIn, IsOptional, IsString, IsUUID, Matches } from 'class-validator';

export class WriteOrgMemoryDto {
  @ApiPropertyOptional({
    enum: [MemoryScope.Global],
    description: 'Org admins write GLOBAL memories only (approved at once)',
  })
  @IsOptional()
  @IsIn([MemoryScope.Global])
  scope?: typeof MemoryScope.Global;

  @ApiPropertyOptional({ example: 'policies', description: 'Defaults to "default"' })
  @IsOptional()
  @IsString()
  @Matches(NAMESPACE_PATTERN, { message: NAMESPACE_MESSAGE })
  namespace?: string;

  @ApiProperty({
    description: 'Stored trimmed, with secrets redacted and spoofed delimiters escaped',
  })
  @IsString()
  content: string;
}

export class ListOrgMemoriesQuery extends PageQuery {
  @ApiPropertyOptional({ enum: enumValues(MemoryScope) })
  @IsOptional()
  @IsIn(enumValues(MemoryScope))
  scope?: MemoryScope;

  @ApiPropertyOptional({
    enum: enumValues(ApprovalState),
    description: '`pending` lists the GLOBAL proposals awaiting a decision',
  })
  @IsOptional()
  @IsIn(enumValues(ApprovalState))
  state?: ApprovalState;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Matches(NAMESPACE_PATTERN, { message: NAMESPACE_MESSAGE })
  namespace?: string;

  @ApiPropertyOptional({ description: 'Only memories this workspace wrote' })
  @IsOptional()
  @IsUUID()
  workspaceId?: string;
}
