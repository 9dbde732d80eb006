import { Module } from '@nestjs/common';
import { PartnerCache } from './partner-cache.service';

@Module({ providers: [PartnerCache], exports: [PartnerCache] })
export class PartnersModule {}
