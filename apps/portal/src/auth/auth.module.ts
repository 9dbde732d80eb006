import { Global, Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { AuthController } from './auth.controller';
import { AuthGuard } from './auth.guard';
import { LoginThrottle } from './login-throttle.service';
import { Reauthentication } from './reauthentication.service';
import { SessionService } from './session.service';

@Global()
@Module({
  controllers: [AuthController],
  providers: [SessionService, LoginThrottle, Reauthentication, { provide: APP_GUARD, useClass: AuthGuard }],
  exports: [SessionService, Reauthentication],
})
export class AuthModule {}
