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

/**
 * How a frame that is not valid JSON still declares itself device data: a `"type"` key whose
 * value is `"device_data"` (whitespace allowed around the colon), after `{` or `,`. Frames
 * like `{"type":"device_data","deviceId":"p","data":{"t":NaN}}` (NaN, Infinity, trailing
 * commas, truncation) are answered; other text that merely mentions "device_data" is not.
 */
const DECLARES_DEVICE_DATA = /[{,]\s*"type"\s*:\s*"device_data"/;

/**
 * null: not a device-data frame at all (just forwarded); error: a malformed one, to be
 * answered with an error frame: a valid device frame's shape violated, or text that declares
 * `"type":"device_data"` (see DECLARES_DEVICE_DATA) but is not valid JSON.
 */
export function parseDeviceFrame(data: Buffer): DeviceFrameResult {
  let value: unknown;
  const text = data.toString('utf8');
  try {
    value = JSON.parse(text);
  } catch (err) {
    if (!DECLARES_DEVICE_DATA.test(text)) return null;
    return { error: `invalid device_data: not valid JSON (${(err as Error).message})` };
  }
  if (value === null || typeof value !== 'object' || (value as { type?: unknown }).type !== 'device_data') {
    return null;
  }
  const parsed = deviceFrame.safeParse(value);
  if (parsed.success) return { frame: parsed.data };
  const issue = parsed.error.issues[0];
  return { error: `invalid device_data: ${issue.path.join('.') || 'frame'}: ${issue.message}` };
}
