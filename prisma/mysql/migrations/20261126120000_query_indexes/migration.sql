-- CreateIndex
CREATE INDEX `DeviceData_endpointId_deviceId_createdAt_idx` ON `DeviceData`(`endpointId`, `deviceId`, `createdAt`);

-- CreateIndex
CREATE INDEX `AlertRule_endpointId_enabled_idx` ON `AlertRule`(`endpointId`, `enabled`);

-- CreateIndex
CREATE INDEX `Alert_endpointId_createdAt_idx` ON `Alert`(`endpointId`, `createdAt`);

-- CreateIndex
CREATE INDEX `Alert_ruleId_idx` ON `Alert`(`ruleId`);
