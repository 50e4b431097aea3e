import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsObject, IsOptional, IsString, IsUrl, IsUUID, Length, MaxLength } from 'class-validator';

export class RegisterDto {
  @ApiProperty()
  @IsUUID()
  workspaceId: string;

  @ApiPropertyOptional({ description: 'The A2A agent card the runtime serves' })
  @IsOptional()
  @IsObject()
  agentCard?: Record<string, unknown>;

  @ApiPropertyOptional({ example: 'http://10.0.3.7:8080' })
  @IsOptional()
  @IsUrl({ require_tld: false, protocols: ['http', 'https'], require_protocol: true })
  endpoint?: string;

  @ApiPropertyOptional()
  @IsOptional()
  @IsString()
  @MaxLength(64)
  version?: string;
}

export class BootReportDto {
  @ApiProperty({ example: 'register' })
  @IsString()
  @Length(1, 64)
  stage: string;

  @ApiProperty({ description: 'What went wrong, without secrets' })
  @IsString()
  @Length(1, 2000)
  error: string;
}
