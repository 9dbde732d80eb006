import { Module } from '@nestjs/common';
import { SmppBinds } from '../http/smpp-binds.service';
import { AccountController } from './account.controller';

@Module({ controllers: [AccountController], providers: [SmppBinds] })
export class AccountModule {}
