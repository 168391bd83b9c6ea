// The kernel's cpulist format ("0-3,8-11"), as /sys/devices/system/cpu/online,
// a node's cpulist and /proc/PID/status's Cpus_allowed_list write it. One
// parser for all of them.

/** "0-3,8-11" → [0,1,2,3,8,9,10,11]; an empty list → []. */
export function parseCpuList(list: string): number[] {
  return list
    .trim()
    .split(",")
    .filter(Boolean)
    .flatMap((range) => {
      const [a, b] = range.split("-").map(Number);
      return Array.from({ length: (b ?? a!) - a! + 1 }, (_, i) => a! + i);
    });
}
