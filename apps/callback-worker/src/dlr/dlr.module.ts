import { Module } from '@nestjs/common';
import { DeliveryModule } from '../delivery/delivery.module';
import { DlrProcessor } from './dlr.processor';
import { DlrService } from './dlr.service';
import { ReportLoader } from './report-loader.service';
import { ReportSlots } from './report-slots';

@Module({
  imports: [DeliveryModule],
  providers: [DlrProcessor, DlrService, ReportLoader, ReportSlots],
  exports: [DlrProcessor],
})
export class DlrModule {}
