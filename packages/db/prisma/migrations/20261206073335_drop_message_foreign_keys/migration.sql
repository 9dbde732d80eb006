-- DropForeignKey
ALTER TABLE "message" DROP CONSTRAINT "message_partner_id_fkey";

-- DropForeignKey
ALTER TABLE "message_part" DROP CONSTRAINT "message_part_message_id_fkey";
