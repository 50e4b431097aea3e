import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { MemoryScope, enumValues } from '@molecule/database';
import { NAMESPACE_MESSAGE, NAMESPACE_PATTERN } from '@molecule/memory';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';

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

export class ListMemoriesQuery {
  @ApiPropertyOptional({ enum: SCOPES, description: 'Every scope when left out' })
  @IsOptional()
  @IsIn(SCOPES)
  scope?: MemoryScope;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @Matches(NAMESPACE_PATTERN, { message: NAMESPACE_MESSAGE })
  namespace?: string;

  @ApiPropertyOptional({ minimum: 1, maximum: 200, default: 50 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(200)
  limit?: number;
}
