import { z } from 'zod';

const DEVICE_DATA_MARKER = Buffer.from('"device_data"');

const deviceFrame = z.object({
  type: z.literal('device_data'),
  deviceId: z.string().min(1).max(191),
  data: z.record(z.string(), z.unknown()),
});

export type DeviceFrame = z.infer<typeof deviceFrame>;

/**
 * A byte search, so ordinary frames are forwarded without being decoded or parsed; only
 * frames that mention the device-data type pay for JSON.parse.
 */
export function mayBeDeviceFrame(data: Buffer): boolean {
  return data.indexOf(DEVICE_DATA_MARKER) !== -1;
}

export type DeviceFrameResult = { frame: DeviceFrame } | { error: string } | null;

/** null: not a device-data frame at all (just forwarded); error: a malformed one. */
export function parseDeviceFrame(data: Buffer): DeviceFrameResult {
  let value: unknown;
  try {
    value = JSON.parse(data.toString('utf8'));
  } catch {
    return null;
  }
  if (value === null || typeof value !== 'object' || (value as { type?: unknown }).type !== 'device_data') {
    return null;
  }
  const parsed = deviceFrame.safeParse(value);
  if (parsed.success) return { frame: parsed.data };
  const issue = parsed.error.issues[0];
  return { error: `invalid device_data: ${issue.path.join('.') || 'frame'}: ${issue.message}` };
}
