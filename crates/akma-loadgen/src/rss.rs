//! Resident set size from `/proc/<pid>/status` (Linux).

/// The resident set size of this process in bytes (`VmRSS` in `/proc/self/status`), or
/// `None` where `/proc` is not available.
pub fn rss_bytes() -> Option<u64> {
    parse_vm_rss(&std::fs::read_to_string("/proc/self/status").ok()?)
}

/// The resident set size of process `pid` in bytes (`VmRSS` in `/proc/<pid>/status`), or
/// `None` if the process does not exist, is not readable, or has no `VmRSS` (a zombie or
/// kernel thread).
pub fn rss_of(pid: u32) -> Option<u64> {
    parse_vm_rss(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

/// CPU time (user + system, all threads, including reaped ones) that process `pid` has used,
/// from `/proc/<pid>/stat`, in seconds; `None` where it cannot be read. Linux reports these
/// fields in USER_HZ ticks, which is 100 per second on every architecture.
pub fn cpu_seconds_of(pid: u32) -> Option<f64> {
    parse_cpu_ticks(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
        .map(|t| t as f64 / 100.0)
}

/// `utime + stime` (fields 14 and 15) of a `/proc/<pid>/stat` or `/proc/<pid>/task/<tid>/stat`
/// line, in USER_HZ ticks. The command name (field 2) may hold spaces and parentheses, so
/// fields are counted after its last `)`.
pub fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut f = rest.split_whitespace().skip(11); // fields 3..=13 skipped
    let utime: u64 = f.next()?.parse().ok()?;
    let stime: u64 = f.next()?.parse().ok()?;
    utime.checked_add(stime)
}

/// Parses the `VmRSS:   1234 kB` line of a `/proc/<pid>/status` text into bytes.
fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut fields = line["VmRSS:".len()..].split_whitespace();
    let value: u64 = fields.next()?.parse().ok()?;
    let factor = match fields.next() {
        Some("kB") | Some("KB") | Some("kb") => 1024,
        Some("mB") | Some("MB") => 1024 * 1024,
        Some("B") | None => 1,
        Some(_) => return None,
    };
    value.checked_mul(factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_vm_rss_line() {
        let status = "Name:\tcat\nVmPeak:\t    9000 kB\nVmRSS:\t    1868 kB\nRssAnon:\t 100 kB\n";
        assert_eq!(parse_vm_rss(status), Some(1868 * 1024));
        assert_eq!(parse_vm_rss("Name:\tx\n"), None);
        assert_eq!(parse_vm_rss("VmRSS:\t abc kB\n"), None);
    }

    #[test]
    fn parses_cpu_ticks_after_the_command_name() {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime ...
        let stat = "42 (a b) c) S 1 42 42 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 3 0";
        assert_eq!(parse_cpu_ticks(stat), Some(325));
        assert_eq!(parse_cpu_ticks("42 (x) S 1"), None);
        assert!(cpu_seconds_of(std::process::id()).is_some());
    }

    #[test]
    fn own_rss_is_plausible_and_matches_rss_of_own_pid() {
        let own = rss_bytes().expect("/proc/self/status has VmRSS on Linux");
        // A running test binary is more than 100 KiB and less than 64 GiB resident.
        assert!(own > 100 * 1024 && own < 64 << 30, "rss {own}");
        let by_pid = rss_of(std::process::id()).expect("own pid readable");
        // Both are snapshots of the same process a moment apart.
        let diff = own.abs_diff(by_pid);
        assert!(diff < 64 << 20, "rss_bytes {own} vs rss_of {by_pid}");
    }

    #[test]
    fn rss_of_missing_pid_is_none() {
        // PIDs are limited to 2^22 on Linux.
        assert_eq!(rss_of(u32::MAX), None);
    }
}
