import { ApiProperty } from '@nestjs/swagger';

/** A one-time sign-in link to the org's tenant host, shown once. */
export class SessionTicketDto {
  @ApiProperty({
    description:
      'Open in the browser within `expiresAt`: the edge router redeems the ticket once, sets ' +
      'the session cookie and redirects to the tenant host’s `/`.',
    example: 'https://acme.example.com/_molecule/session?ticket=mol_st_…',
  })
  url: string;

  @ApiProperty({
    description: 'The one-time ticket inside `url` (256 random bits); shown only in this response.',
    example: 'mol_st_…',
  })
  ticket: string;

  @ApiProperty({ type: String, format: 'date-time' })
  expiresAt: string;
}
