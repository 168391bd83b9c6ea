// A role's time over an interval in CPUs: its threads' time divided by the
// interval's wall time, so 1.0 is one core's worth and four busy threads of
// a role read 4.0. The TUI's roles panel, the live model's role histories
// and the dashboard's role table all show these, from this one definition.

/** The time sums a report keeps per role (RoleStats has them). */
export interface RoleTimes {
  oncpu_ns: number;
  runq_wait_ns: number;
  sleep_ns: number;
  iowait_ns: number;
}

export interface RoleShares {
  oncpu: number;
  /** runnable, waiting for a CPU */
  runq: number;
  /** sleeping or waiting for I/O */
  offcpu: number;
}

/**
 * `ns` of threads' time over `duration_s` of wall time, in CPUs. An interval
 * of no duration holds no time, so its share is 0 (never a division by 0).
 */
export function inCpus(ns: number, duration_s: number): number {
  return duration_s > 0 ? ns / (duration_s * 1e9) : 0;
}

/** Where a role's time went over `duration_s`, in CPUs; all 0 for a role absent from the interval. */
export function roleShares(times: RoleTimes | undefined, duration_s: number): RoleShares {
  if (!times) return { oncpu: 0, runq: 0, offcpu: 0 };
  return {
    oncpu: inCpus(times.oncpu_ns, duration_s),
    runq: inCpus(times.runq_wait_ns, duration_s),
    offcpu: inCpus(times.sleep_ns + times.iowait_ns, duration_s),
  };
}
