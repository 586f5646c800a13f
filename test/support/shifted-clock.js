// Preloaded into an agent process (`node -r shifted-clock.js main.js`) to run it on a device clock
// set SHIFTED_CLOCK_MS off the host's, as a device without NTP would be: its wall time (Date) moves
// by that much, while its timers keep running in real time. A test can so put a whole minute of the
// agent's clock (where maintenance windows open) a few seconds ahead instead of up to 60 s.
const shiftMs = Number(process.env.SHIFTED_CLOCK_MS);
if (!Number.isInteger(shiftMs))
  throw new Error(`SHIFTED_CLOCK_MS must be a whole number of milliseconds, not "${process.env.SHIFTED_CLOCK_MS}"`);

const HostDate = Date;
class ShiftedDate extends HostDate {
  constructor(...args) {
    if (args.length === 0) super(HostDate.now() + shiftMs);
    else super(...args);
  }

  static now() {
    return HostDate.now() + shiftMs;
  }
}
globalThis.Date = ShiftedDate;
