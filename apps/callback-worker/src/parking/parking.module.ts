import { Module } from '@nestjs/common';
import { DeliveryModule } from '../delivery/delivery.module';
import { MoModule } from '../mo/mo.module';
import { ParkedCallbacks } from './parked-callbacks.service';
import { SmppWake } from './smpp-wake.service';

@Module({ imports: [DeliveryModule, MoModule], providers: [ParkedCallbacks, SmppWake], exports: [ParkedCallbacks, SmppWake] })
export class ParkingModule {}
