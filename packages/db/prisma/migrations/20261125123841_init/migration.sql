-- CreateEnum
CREATE TYPE "partner_status" AS ENUM ('active', 'blocked');

-- CreateEnum
CREATE TYPE "user_role" AS ENUM ('operator', 'partner');

-- CreateTable
CREATE TABLE "partner" (
    "id" SERIAL NOT NULL,
    "login" TEXT NOT NULL,
    "name" TEXT NOT NULL DEFAULT '',
    "api_password_hash" TEXT NOT NULL,
    "status" "partner_status" NOT NULL DEFAULT 'active',
    "allowed_ips" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "senders" TEXT[] DEFAULT ARRAY[]::TEXT[],
    "default_sender" TEXT,
    "dynamic_signature" BOOLEAN NOT NULL DEFAULT false,
    "status_url" TEXT,
    "mo_url" TEXT,
    "polling_enabled" BOOLEAN NOT NULL DEFAULT true,
    "intermediate_reports" BOOLEAN NOT NULL DEFAULT false,
    "request_param_names" JSONB NOT NULL DEFAULT '{}',
    "callback_param_names" JSONB NOT NULL DEFAULT '{}',
    "rate_limit" INTEGER NOT NULL DEFAULT 10,
    "validity_minutes" INTEGER NOT NULL DEFAULT 1440,
    "postponed_enabled" BOOLEAN NOT NULL DEFAULT false,
    "postponed_horizon_days" INTEGER NOT NULL DEFAULT 30,
    "time_zone" TEXT NOT NULL DEFAULT 'UTC',
    "default_country" TEXT NOT NULL DEFAULT 'RU',
    "duplicate_filter" BOOLEAN NOT NULL DEFAULT false,
    "duplicate_max" INTEGER NOT NULL DEFAULT 1,
    "duplicate_window_hours" INTEGER NOT NULL DEFAULT 24,
    "signing_secret" TEXT,
    "test_mode" BOOLEAN NOT NULL DEFAULT false,
    "test_quota" INTEGER NOT NULL DEFAULT 100,
    "test_ends_at" TIMESTAMPTZ(3),
    "test_real_delivery" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "partner_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "service_number" (
    "number" TEXT NOT NULL,
    "partner_id" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "service_number_pkey" PRIMARY KEY ("number")
);

-- CreateTable
CREATE TABLE "blacklisted_number" (
    "msisdn" TEXT NOT NULL,
    "reason" TEXT NOT NULL DEFAULT '',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "blacklisted_number_pkey" PRIMARY KEY ("msisdn")
);

-- CreateTable
CREATE TABLE "message" (
    "id" BIGINT NOT NULL,
    "partner_id" INTEGER NOT NULL,
    "partner_msg_id" TEXT,
    "ptag" TEXT,
    "sender" TEXT NOT NULL,
    "msisdn" TEXT NOT NULL,
    "text" TEXT NOT NULL,
    "encoding" SMALLINT NOT NULL,
    "segments" SMALLINT NOT NULL,
    "flash" BOOLEAN NOT NULL DEFAULT false,
    "priority" SMALLINT NOT NULL DEFAULT 1,
    "status" SMALLINT NOT NULL DEFAULT 1,
    "ext_status" SMALLINT,
    "test" BOOLEAN NOT NULL DEFAULT false,
    "release_at" TIMESTAMPTZ(3),
    "window_start" SMALLINT,
    "window_end" SMALLINT,
    "window_zone" TEXT,
    "valid_until" TIMESTAMPTZ(3) NOT NULL,
    "smsc_connection_id" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "submitted_at" TIMESTAMPTZ(3),
    "done_at" TIMESTAMPTZ(3),

    CONSTRAINT "message_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "message_part" (
    "message_id" BIGINT NOT NULL,
    "seq" SMALLINT NOT NULL,
    "smsc_connection_id" INTEGER,
    "smsc_message_id" TEXT,
    "status" SMALLINT NOT NULL DEFAULT 0,
    "ext_status" SMALLINT,
    "submitted_at" TIMESTAMPTZ(3),
    "done_at" TIMESTAMPTZ(3),

    CONSTRAINT "message_part_pkey" PRIMARY KEY ("message_id","seq")
);

-- CreateTable
CREATE TABLE "app_user" (
    "id" SERIAL NOT NULL,
    "login" TEXT NOT NULL,
    "password_hash" TEXT NOT NULL,
    "role" "user_role" NOT NULL,
    "partner_id" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "app_user_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "audit_log" (
    "id" BIGSERIAL NOT NULL,
    "actor" TEXT NOT NULL,
    "action" TEXT NOT NULL,
    "entity" TEXT NOT NULL,
    "before" JSONB,
    "after" JSONB,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "audit_log_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "partner_login_key" ON "partner"("login");

-- CreateIndex
CREATE INDEX "service_number_partner_id_idx" ON "service_number"("partner_id");

-- CreateIndex
CREATE INDEX "message_partner_id_created_at_idx" ON "message"("partner_id", "created_at");

-- CreateIndex
CREATE INDEX "message_status_release_at_idx" ON "message"("status", "release_at") WHERE ("status" = 1);

-- CreateIndex
CREATE UNIQUE INDEX "message_partner_id_partner_msg_id_key" ON "message"("partner_id", "partner_msg_id");

-- CreateIndex
CREATE INDEX "message_part_smsc_message_id_idx" ON "message_part"("smsc_message_id");

-- CreateIndex
CREATE UNIQUE INDEX "app_user_login_key" ON "app_user"("login");

-- CreateIndex
CREATE INDEX "audit_log_entity_created_at_idx" ON "audit_log"("entity", "created_at");

-- AddForeignKey
ALTER TABLE "service_number" ADD CONSTRAINT "service_number_partner_id_fkey" FOREIGN KEY ("partner_id") REFERENCES "partner"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "message" ADD CONSTRAINT "message_partner_id_fkey" FOREIGN KEY ("partner_id") REFERENCES "partner"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "message_part" ADD CONSTRAINT "message_part_message_id_fkey" FOREIGN KEY ("message_id") REFERENCES "message"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "app_user" ADD CONSTRAINT "app_user_partner_id_fkey" FOREIGN KEY ("partner_id") REFERENCES "partner"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- Added by hand (Prisma's schema cannot express it; its diff ignores free-standing sequences).
-- Message ids are drawn in blocks: nextval() * 1000 + 0..999, one round trip per thousand ids.
CREATE SEQUENCE "message_id_block_seq";
