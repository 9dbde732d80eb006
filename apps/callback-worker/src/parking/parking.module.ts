import { Module } from '@nestjs/common';
import { ParkedCallbacks } from './parked-callbacks.service';

@Module({ providers: [ParkedCallbacks], exports: [ParkedCallbacks] })
export class ParkingModule {}
