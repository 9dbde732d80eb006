-- CreateEnum
CREATE TYPE "bind_mode" AS ENUM ('transceiver', 'transmitter_receiver');

-- CreateTable
CREATE TABLE "smsc_connection" (
    "id" SERIAL NOT NULL,
    "name" TEXT NOT NULL,
    "host" TEXT NOT NULL,
    "port" INTEGER NOT NULL DEFAULT 2775,
    "system_id" TEXT NOT NULL,
    "password" TEXT NOT NULL,
    "system_type" TEXT NOT NULL DEFAULT '',
    "bind_mode" "bind_mode" NOT NULL DEFAULT 'transceiver',
    "tps" INTEGER NOT NULL DEFAULT 100,
    "window" INTEGER NOT NULL DEFAULT 50,
    "routes" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "priority" INTEGER NOT NULL DEFAULT 0,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "smsc_connection_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "mo_message" (
    "id" BIGSERIAL NOT NULL,
    "partner_id" INTEGER,
    "msisdn" TEXT NOT NULL,
    "service_number" TEXT NOT NULL,
    "text" TEXT NOT NULL,
    "segments" SMALLINT NOT NULL,
    "complete" BOOLEAN NOT NULL DEFAULT true,
    "smsc_connection_id" INTEGER,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "callback_done_at" TIMESTAMPTZ(3),

    CONSTRAINT "mo_message_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "unmatched_receipt" (
    "id" BIGSERIAL NOT NULL,
    "smsc_connection_id" INTEGER NOT NULL,
    "smsc_message_id" TEXT NOT NULL,
    "stat" TEXT NOT NULL,
    "err" TEXT,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "unmatched_receipt_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "smsc_connection_name_key" ON "smsc_connection"("name");

-- CreateIndex
CREATE INDEX "mo_message_partner_id_received_at_idx" ON "mo_message"("partner_id", "received_at");

-- CreateIndex
CREATE INDEX "unmatched_receipt_smsc_message_id_idx" ON "unmatched_receipt"("smsc_message_id");
