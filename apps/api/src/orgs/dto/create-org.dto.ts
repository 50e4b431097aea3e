import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsNotIn, IsOptional, IsString, Length, Matches, NotContains } from 'class-validator';
import { RESERVED_SLUGS, SLUG_PATTERN } from '../slug';

export class CreateOrgDto {
  @ApiProperty({
    example: 'acme',
    description: 'DNS label, 3–32 characters; reserved words refused',
  })
  @IsString()
  @Matches(SLUG_PATTERN, {
    message: 'slug must be 3–32 lower-case letters, digits or inner hyphens',
  })
  @NotContains('--', { message: 'slug must not contain consecutive hyphens' })
  @IsNotIn(RESERVED_SLUGS, { message: 'slug is reserved' })
  slug: string;

  @ApiProperty({ example: 'Acme Corp' })
  @IsString()
  @Length(1, 200)
  name: string;

  @ApiPropertyOptional({ example: 'eu-west-1' })
  @IsOptional()
  @IsString()
  @Matches(/^[a-z]{2}(-[a-z]+)+-\d$/, { message: 'region must look like eu-west-1' })
  region?: string;
}

export class DeleteOrgDto {
  @ApiProperty({ description: 'The org slug, typed again to confirm' })
  @IsString()
  confirm: string;
}
