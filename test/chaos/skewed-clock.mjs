// Preloaded with `node --import`: shifts this process's clock (Date.now and new Date()) by
// LAUREL_CLOCK_SKEW_MS, as a server whose clock is wrong would be. The database clock is untouched.
const skew = Number(process.env.LAUREL_CLOCK_SKEW_MS ?? 0);
const RealDate = Date;
class SkewedDate extends RealDate {
  constructor(...args) {
    if (args.length === 0) super(RealDate.now() + skew);
    else super(...args);
  }
  static now() {
    return RealDate.now() + skew;
  }
}
globalThis.Date = SkewedDate;
