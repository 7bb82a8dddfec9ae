//! What the machine was doing during a run, from `/proc`: per-CPU busy and
//! steal time, a process tree's involuntary context switches and resident
//! memory, the PostgreSQL backends serving a process, and a fixed-work
//! calibration loop that shows how fast a CPU ran just then.

use std::collections::HashSet;
use std::time::Instant;

/// The fields of one `/proc/stat` CPU line we use, in seconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuTimes {
    /// Time not idle: user, nice, system, irq, softirq and steal.
    pub busy: f64,
    /// Time the hypervisor ran something else while this virtual CPU
    /// wanted to run (`steal`).
    pub steal: f64,
}

/// The `/proc/stat` line `name` (`cpu` for the machine, `cpu0`, …).
pub fn cpu_times(name: &str, ticks_per_second: f64) -> CpuTimes {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    parse_cpu_line(&stat, name, ticks_per_second)
}

fn parse_cpu_line(stat: &str, name: &str, ticks_per_second: f64) -> CpuTimes {
    let Some(line) = stat
        .lines()
        .find(|l| l.split_whitespace().next() == Some(name))
    else {
        return CpuTimes::default();
    };
    let f: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest is in user).
    let busy: f64 = [0, 1, 2, 5, 6, 7].iter().filter_map(|i| f.get(*i)).sum();
    CpuTimes {
        busy: busy / ticks_per_second,
        steal: f.get(7).copied().unwrap_or(0.0) / ticks_per_second,
    }
}

/// Involuntary context switches (the scheduler took the CPU away) summed
/// over every thread of the processes.
pub fn involuntary_switches(pids: &[u32]) -> u64 {
    let mut total = 0;
    for pid in pids {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let status = std::fs::read_to_string(task.path().join("status")).unwrap_or_default();
            total += status_field(&status, "nonvoluntary_ctxt_switches:").unwrap_or(0);
        }
    }
    total
}

fn status_field(status: &str, name: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|l| l.strip_prefix(name))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// Resident memory of a process (`VmRSS`), in bytes.
pub fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status_field(&status, "VmRSS:").map(|kb| kb * 1024)
}

/// Socket inodes a process holds open.
fn socket_inodes(pid: u32) -> HashSet<u64> {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return HashSet::new();
    };
    fds.flatten()
        .filter_map(|fd| std::fs::read_link(fd.path()).ok())
        .filter_map(|target| {
            target
                .to_str()
                .and_then(|t| t.strip_prefix("socket:["))
                .and_then(|t| t.strip_suffix(']'))
                .and_then(|t| t.parse().ok())
        })
        .collect()
}

/// One TCP socket from `/proc/net/tcp{,6}`: local port, remote port, inode.
fn tcp_sockets() -> Vec<(u16, u16, u64)> {
    let mut out = Vec::new();
    for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(file).unwrap_or_default();
        out.extend(text.lines().skip(1).filter_map(parse_tcp_line));
    }
    out
}

fn parse_tcp_line(line: &str) -> Option<(u16, u16, u64)> {
    let f: Vec<&str> = line.split_whitespace().collect();
    let port = |s: &str| u16::from_str_radix(s.rsplit(':').next()?, 16).ok();
    Some((port(f.get(1)?)?, port(f.get(2)?)?, f.get(9)?.parse().ok()?))
}

/// The processes on this machine that hold the server end of the TCP
/// connections `pids` opened to port `server_port` (for PostgreSQL: the
/// backends serving those processes' connection pools). Needs permission
/// to read the other processes' `/proc/PID/fd` (root, or the same user).
pub fn tcp_peers(pids: &[u32], server_port: u16) -> Vec<u32> {
    let mine: HashSet<u64> = pids.iter().flat_map(|p| socket_inodes(*p)).collect();
    let sockets = tcp_sockets();
    let client_ports: HashSet<u16> = sockets
        .iter()
        .filter(|(_, remote, inode)| *remote == server_port && mine.contains(inode))
        .map(|(local, _, _)| *local)
        .collect();
    let peer_inodes: HashSet<u64> = sockets
        .iter()
        .filter(|(local, remote, _)| *local == server_port && client_ports.contains(remote))
        .map(|(_, _, inode)| *inode)
        .collect();
    if peer_inodes.is_empty() {
        return Vec::new();
    }
    let Ok(procs) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut found: Vec<u32> = procs
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| !pids.contains(pid))
        .filter(|pid| !socket_inodes(*pid).is_disjoint(&peer_inodes))
        .collect();
    found.sort_unstable();
    found
}

/// Nanoseconds one unit of fixed integer work took on the calling thread's
/// CPU: the fastest of `slices` slices of about 2 ms, so preemption inside
/// a slice does not count, only how fast the CPU ran (host frequency, a
/// busy hyperthread sibling on the host, cache pressure).
pub fn calibrate(slices: usize) -> f64 {
    const UNITS: u64 = 20_000;
    let mut best = f64::INFINITY;
    let mut x = 0x2545_F491_4F6C_DD1D_u64;
    for _ in 0..slices.max(1) {
        let t = Instant::now();
        for _ in 0..UNITS {
            for _ in 0..64 {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
            }
            x = std::hint::black_box(x);
        }
        best = best.min(t.elapsed().as_nanos() as f64 / UNITS as f64);
    }
    std::hint::black_box(x);
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_lines_give_busy_and_steal() {
        let stat = "cpu  100 0 50 900 10 0 5 20 0 0\ncpu0 60 0 30 400 5 0 5 15 0 0\n";
        let t = parse_cpu_line(stat, "cpu0", 100.0);
        assert_eq!(t.busy, 1.1);
        assert_eq!(t.steal, 0.15);
        assert_eq!(parse_cpu_line(stat, "cpu7", 100.0).busy, 0.0);
    }

    #[test]
    fn tcp_lines_give_ports_and_inode() {
        let line = "   3: 0100007F:1538 0100007F:D2F4 01 00000000:00000000 00:00000000 00000000   104        0 81234 1 0000000000000000 20 4 0 10 -1";
        assert_eq!(parse_tcp_line(line), Some((5432, 54004, 81234)));
        assert_eq!(parse_tcp_line("garbage"), None);
    }

    #[test]
    fn this_process_has_a_resident_size_and_a_calibration() {
        assert!(rss_bytes(std::process::id()).is_some_and(|b| b > 0));
        assert!(calibrate(2) > 0.0);
    }

    #[test]
    fn the_server_end_of_a_connection_is_found_in_another_process() {
        use std::io::BufRead;
        // A real listener in a child process (python3 is on every machine
        // that runs this benchmark: the Python systems need it).
        let mut child = std::process::Command::new("python3")
            .args([
                "-c",
                "import socket, time\n\
                 s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen()\n\
                 print(s.getsockname()[1], flush=True)\n\
                 c, _ = s.accept(); time.sleep(30)",
            ])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let port: u16 = line.trim().parse().unwrap();
        let _c = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        let deadline = Instant::now() + std::time::Duration::from_secs(10);
        let mut peers = Vec::new();
        while Instant::now() < deadline {
            peers = tcp_peers(&[std::process::id()], port);
            if !peers.is_empty() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(peers, vec![child.id()]);
        // Another port: no peers.
        assert!(tcp_peers(&[std::process::id()], port.wrapping_add(1)).is_empty());
    }
}
