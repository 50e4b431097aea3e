import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { MemoryScope, enumValues } from '@molecule/database';
import { NAMESPACE_MESSAGE, NAMESPACE_PATTERN } from '@molecule/memory';
import { PageQuery } from '@molecule/platform';
import { IsIn, IsOptional, IsString, Matches } from 'class-validator';

const SCOPES = enumValues(MemoryScope);

export class WriteMemoryDto {
  @ApiProperty({
    enum: SCOPES,
    description: 'LOCAL: only you; TEAM: workspaces you may reach; GLOBAL: a proposal to the org',
  })
  @IsIn(SCOPES)
  scope: MemoryScope;

  @ApiPropertyOptional({ example: 'build', description: 'Defaults to "default"' })
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

export class ListMemoriesQuery extends PageQuery {
  @ApiPropertyOptional({ enum: SCOPES, description: 'Every scope when left out' })
  @IsOptional()
  @IsIn(SCOPES)
  scope?: MemoryScope;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Matches(NAMESPACE_PATTERN, { message: NAMESPACE_MESSAGE })
  namespace?: string;
}
