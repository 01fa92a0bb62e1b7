export { restBaseFromTarget as restBase } from '../processors/lib/settings';
