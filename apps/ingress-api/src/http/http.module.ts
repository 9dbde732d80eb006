import { Module } from '@nestjs/common';
import { PartnersModule } from '../partners/partners.module';
import { PartnerEndpoint } from './partner-endpoint';
import { RequestAuthenticator } from './request-context';

@Module({
  imports: [PartnersModule],
  providers: [RequestAuthenticator, PartnerEndpoint],
  exports: [RequestAuthenticator, PartnerEndpoint, PartnersModule],
})
export class HttpModule {}
