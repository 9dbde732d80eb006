import { Module } from '@nestjs/common';
import { PartnerEndpoint } from './partner-endpoint';
import { RequestAuthenticator } from './request-context';

@Module({
  providers: [RequestAuthenticator, PartnerEndpoint],
  exports: [RequestAuthenticator, PartnerEndpoint],
})
export class HttpModule {}
