-- Identifiers compare exactly, as the relay's in-memory maps do. The tables were created with
-- utf8mb4_unicode_ci, a PAD SPACE, case- and accent-insensitive collation: 'ABC', 'abc ' and
-- 'ábc' all equalled 'abc', so a lookup matched an endpoint (or device) the relay's Map did not.
-- utf8mb4_bin is not enough: it is PAD SPACE too ('abc ' = 'abc'). The NO PAD binary collation
-- is utf8mb4_nopad_bin on MariaDB and utf8mb4_0900_bin on MySQL 8, hence the lookup and the
-- prepared statements. A server with neither leaves @exact NULL and the first PREPARE fails.
SET @exact = (SELECT MIN(COLLATION_NAME) FROM information_schema.COLLATIONS WHERE COLLATION_NAME IN ('utf8mb4_nopad_bin', 'utf8mb4_0900_bin'));

-- Rows written under the old collation may name their endpoint in another case or spacing than
-- the endpoint's own id; they are rewritten to the exact id so the foreign keys hold afterwards.
UPDATE `EndpointStats` c JOIN `Endpoint` e ON e.`id` = c.`endpointId` SET c.`endpointId` = e.`id` WHERE BINARY c.`endpointId` <> BINARY e.`id`;
UPDATE `DeviceData` c JOIN `Endpoint` e ON e.`id` = c.`endpointId` SET c.`endpointId` = e.`id` WHERE BINARY c.`endpointId` <> BINARY e.`id`;
UPDATE `AlertRule` c JOIN `Endpoint` e ON e.`id` = c.`endpointId` SET c.`endpointId` = e.`id` WHERE BINARY c.`endpointId` <> BINARY e.`id`;
UPDATE `Alert` c JOIN `Endpoint` e ON e.`id` = c.`endpointId` SET c.`endpointId` = e.`id` WHERE BINARY c.`endpointId` <> BINARY e.`id`;

-- A column in a foreign key cannot change collation while the key exists.
ALTER TABLE `EndpointStats` DROP FOREIGN KEY `EndpointStats_endpointId_fkey`;
ALTER TABLE `DeviceData` DROP FOREIGN KEY `DeviceData_endpointId_fkey`;
ALTER TABLE `AlertRule` DROP FOREIGN KEY `AlertRule_endpointId_fkey`;
ALTER TABLE `Alert` DROP FOREIGN KEY `Alert_endpointId_fkey`;

-- Binary equality is finer than the old one, so every existing key stays unique.
SET @sql = CONCAT('ALTER TABLE `Endpoint` CONVERT TO CHARACTER SET utf8mb4 COLLATE ', @exact);
PREPARE stmt FROM @sql;
EXECUTE stmt;
SET @sql = CONCAT('ALTER TABLE `EndpointStats` CONVERT TO CHARACTER SET utf8mb4 COLLATE ', @exact);
PREPARE stmt FROM @sql;
EXECUTE stmt;
SET @sql = CONCAT('ALTER TABLE `DeviceData` CONVERT TO CHARACTER SET utf8mb4 COLLATE ', @exact);
PREPARE stmt FROM @sql;
EXECUTE stmt;
SET @sql = CONCAT('ALTER TABLE `AlertRule` CONVERT TO CHARACTER SET utf8mb4 COLLATE ', @exact);
PREPARE stmt FROM @sql;
EXECUTE stmt;
SET @sql = CONCAT('ALTER TABLE `Alert` CONVERT TO CHARACTER SET utf8mb4 COLLATE ', @exact);
PREPARE stmt FROM @sql;
EXECUTE stmt;
DEALLOCATE PREPARE stmt;

ALTER TABLE `EndpointStats` ADD CONSTRAINT `EndpointStats_endpointId_fkey` FOREIGN KEY (`endpointId`) REFERENCES `Endpoint`(`id`) ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE `DeviceData` ADD CONSTRAINT `DeviceData_endpointId_fkey` FOREIGN KEY (`endpointId`) REFERENCES `Endpoint`(`id`) ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE `AlertRule` ADD CONSTRAINT `AlertRule_endpointId_fkey` FOREIGN KEY (`endpointId`) REFERENCES `Endpoint`(`id`) ON DELETE CASCADE ON UPDATE CASCADE;
ALTER TABLE `Alert` ADD CONSTRAINT `Alert_endpointId_fkey` FOREIGN KEY (`endpointId`) REFERENCES `Endpoint`(`id`) ON DELETE CASCADE ON UPDATE CASCADE;
